"""What every command module of the CLI shares: options that read an environment variable, and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click
from pydantic import ValidationError

from .settings import Settings, SettingsError

FC = TypeVar("FC", bound=Callable[..., Any])


def option(*names: str, envvar: str, **kwargs: Any) -> Callable[[FC], FC]:
    """A click option that also reads `envvar`, and says so in --help."""
    return click.option(*names, envvar=envvar, show_envvar=True, **kwargs)


def settings_from(**overrides: Any) -> Settings:
    """Settings from the environment, with the options given on the command line (None: not given) on top."""
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except (ValidationError, SettingsError) as exc:
        raise click.ClickException(f"invalid settings: {exc}") from exc


database_option = option(
    "--database-url",
    envvar="REMINDERS_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (default sqlite:///./var/reminders.db; PostgreSQL as postgresql+psycopg://...).",
)

office_option = option(
    "--office",
    "office_id",
    envvar="REMINDERS_OFFICE",
    type=int,
    default=None,
    help="The office's id (`reminders office list`); needed when the deployment hosts several offices.",
)
