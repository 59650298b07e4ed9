"""Commands `reminders simulator` and `reminders bench simulator`; the main cli.py registers these two.

Every option also reads an environment variable (shown in --help). The simulator's account defaults to
TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN, so the service and the simulator agree without extra set-up.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from .config import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PHONE_NUMBER,
    REGISTRATIONS,
    Faults,
    SimulatorConfig,
)

FC = TypeVar("FC", bound=Callable[..., Any])


def _option(*names: str, envvar: str, **kwargs: Any) -> Callable[[FC], FC]:
    return click.option(*names, envvar=envvar, show_envvar=True, **kwargs)


METHODS = ["GET", "POST"]
DEFAULTS = SimulatorConfig()
FAULT_OPTIONS = (
    "latency_ms",
    "rate_429",
    "rate_500",
    "rate_timeout",
    "rate_lost_response",
    "timeout_hang_s",
    "max_concurrency",
)


def _or_file(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A secret not given by option or variable comes from `NAME_FILE`, as the service reads it (see settings)."""
    name = param.envvar if isinstance(param.envvar, str) else ""
    path = os.environ.get(f"{name}_FILE")
    if not path or ctx.get_parameter_source(param.name or "") not in (ParameterSource.DEFAULT, None):
        return value
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise click.BadParameter(f"{name}_FILE points at {path!r}, which cannot be read ({exc.strerror})") from None


@click.command("simulator")
@_option("--host", envvar="REMINDERS_SIMULATOR_HOST", default="127.0.0.1", show_default=True)
@_option("--port", envvar="REMINDERS_SIMULATOR_PORT", default=8090, show_default=True, type=int)
@_option("--account-sid", envvar="TWILIO_ACCOUNT_SID", default=DEFAULT_ACCOUNT_SID, help="The simulated account.")
@_option(
    "--auth-token",
    envvar="TWILIO_AUTH_TOKEN",
    default=DEFAULT_AUTH_TOKEN,
    callback=_or_file,
    help="Its auth token (signs webhooks); also from TWILIO_AUTH_TOKEN_FILE.",
)
@_option("--api-key", envvar="TWILIO_API_KEY", default=None, help="An API key SID (SK...) that may also log in.")
@_option(
    "--api-secret",
    envvar="TWILIO_API_SECRET",
    default=None,
    callback=_or_file,
    help="That API key's secret; also from TWILIO_API_SECRET_FILE.",
)
@_option(
    "--phone-number",
    "phone_numbers",
    envvar="TWILIO_PHONE_NUMBER",
    multiple=True,
    help=f"A number the account owns (repeatable; default {DEFAULT_PHONE_NUMBER}).",
)
@_option("--sms-url", envvar="REMINDERS_SIMULATOR_SMS_URL", default=None, help="The numbers' SMS URL (inbound texts).")
@_option("--sms-method", envvar="REMINDERS_SIMULATOR_SMS_METHOD", default="POST", type=click.Choice(METHODS))
@_option("--voice-url", envvar="REMINDERS_SIMULATOR_VOICE_URL", default=None, help="The numbers' voice URL.")
@_option(
    "--voice-method", envvar="REMINDERS_SIMULATOR_VOICE_METHOD", default="POST", type=click.Choice(["GET", "POST"])
)
@_option(
    "--verified-caller-id",
    "verified_caller_ids",
    envvar="REMINDERS_SIMULATOR_VERIFIED_CALLER_IDS",
    multiple=True,
    help="A verified caller ID (repeatable).",
)
@_option("--trial/--no-trial", envvar="REMINDERS_SIMULATOR_TRIAL", default=False, help="Account type Trial.")
@_option("--balance", envvar="REMINDERS_SIMULATOR_BALANCE", default="20.00", show_default=True)
@_option("--latency-ms", envvar="REMINDERS_SIMULATOR_LATENCY_MS", default=0, type=int, help="Added to every REST call.")
@_option("--rate-429", envvar="REMINDERS_SIMULATOR_RATE_429", default=0.0, type=float, help="Share of 429/20429.")
@_option("--rate-500", envvar="REMINDERS_SIMULATOR_RATE_500", default=0.0, type=float, help="Share of HTTP 500.")
@_option("--rate-timeout", envvar="REMINDERS_SIMULATOR_RATE_TIMEOUT", default=0.0, type=float, help="Share that hang.")
@_option(
    "--rate-lost-response",
    envvar="REMINDERS_SIMULATOR_RATE_LOST_RESPONSE",
    default=0.0,
    type=float,
    help="Share that are carried out, then hang (the caller never learns it worked).",
)
@_option("--timeout-hang-s", envvar="REMINDERS_SIMULATOR_TIMEOUT_HANG_S", default=30.0, type=float)
@_option(
    "--max-concurrency",
    envvar="REMINDERS_SIMULATOR_MAX_CONCURRENCY",
    default=0,
    type=int,
    help="Answer 429/20429 beyond this many requests in flight (0: no cap).",
)
@_option(
    "--registration",
    envvar="REMINDERS_SIMULATOR_REGISTRATION",
    default="none",
    show_default=True,
    type=click.Choice(REGISTRATIONS),
    help="Carrier registration the account starts with: none, the ISV's primary profile, or a registered office.",
)
@_option(
    "--numbers-registered/--numbers-unregistered",
    envvar="REMINDERS_SIMULATOR_NUMBERS_REGISTERED",
    default=True,
    help="Whether the numbers count as registered with carriers elsewhere (else 30034/30032 until registered).",
)
@_option(
    "--review-delay-s",
    envvar="REMINDERS_SIMULATOR_REVIEW_DELAY_S",
    default=DEFAULTS.review_delay_s,
    show_default=True,
    type=float,
    help="Seconds a registration (profile, brand, campaign, toll-free verification) spends in review.",
)
@_option(
    "--reviews-approve/--no-reviews-approve",
    envvar="REMINDERS_SIMULATOR_REVIEWS_APPROVE",
    default=DEFAULTS.reviews_approve,
    help="Reviews decide by themselves; with --no-reviews-approve they wait for the inspection API.",
)
@_option("--callback-delay-ms", envvar="REMINDERS_SIMULATOR_CALLBACK_DELAY_MS", default=200, type=int)
@_option("--auto-answer/--no-auto-answer", envvar="REMINDERS_SIMULATOR_AUTO_ANSWER", default=False)
@_option(
    "--config",
    "config_file",
    envvar="REMINDERS_SIMULATOR_CONFIG",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="JSON configuration (accounts, numbers, faults, registration...) instead of the account options above.",
)
@_option("--log-level", envvar="REMINDERS_SIMULATOR_LOG_LEVEL", default="info", show_default=True)
def simulator_command(config_file: Path | None, host: str, port: int, log_level: str, **options: Any) -> None:
    """Run the Twilio simulator on its own port (REST API, webhooks, phone page at /simulator/)."""
    import uvicorn

    from .app import create_simulator_app

    config = _config(config_file, options)
    base = f"http://{host}:{port}"
    click.echo(f"Twilio simulator: set TWILIO_API_BASE_URL={base}/simulator; phones at {base}/simulator/")
    uvicorn.run(
        create_simulator_app(config),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        access_log=False,
    )


def _config(config_file: Path | None, options: dict[str, Any]) -> SimulatorConfig:
    faults = Faults(**{name: options[name] for name in FAULT_OPTIONS})
    reviews = {"review_delay_s": options["review_delay_s"], "reviews_approve": options["reviews_approve"]}
    if config_file is not None:
        try:
            config = SimulatorConfig.from_dict(json.loads(config_file.read_text()))
        except (ValueError, TypeError) as exc:
            raise click.ClickException(f"{config_file}: {exc}") from exc
        unchanged = {"review_delay_s": DEFAULTS.review_delay_s, "reviews_approve": DEFAULTS.reviews_approve}
        if reviews != unchanged:  # given as options, they win over the file
            config = replace(config, **reviews)
        return config if faults == Faults() else config.with_faults(**{n: options[n] for n in FAULT_OPTIONS})
    api_keys = {options["api_key"]: options["api_secret"]} if options["api_key"] and options["api_secret"] else {}
    return SimulatorConfig.for_account(
        options["account_sid"],
        options["auth_token"],
        phone_numbers=[n for value in options["phone_numbers"] for n in value.split()] or None,
        sms_url=options["sms_url"],
        sms_method=options["sms_method"],
        voice_url=options["voice_url"],
        voice_method=options["voice_method"],
        verified_caller_ids=[n for value in options["verified_caller_ids"] for n in value.split()],
        api_keys=api_keys,
        trial=options["trial"],
        balance=options["balance"],
        faults=faults,
        registered=options["numbers_registered"],
        registration=options["registration"],
        callback_delay_ms=options["callback_delay_ms"],
        auto_answer_calls=options["auto_answer"],
        **reviews,
    )


@click.command("simulator")
@_option("--seconds", envvar="REMINDERS_BENCH_SECONDS", default=5.0, show_default=True, type=float)
@_option("--concurrency", envvar="REMINDERS_BENCH_CONCURRENCY", default=64, show_default=True, type=int)
@_option("--port", envvar="REMINDERS_BENCH_PORT", default=0, type=int, help="Simulator port (0: any free one).")
def bench_simulator_command(seconds: float, concurrency: int, port: int) -> None:
    """Start the simulator in a subprocess and measure Messages.create requests/s and latency."""
    from ..benchmarks.simulator import run_bench

    click.echo(f"Driving Messages.create with {concurrency} concurrent requests for {seconds:.0f} s (+1 s warm-up)...")
    result = run_bench(seconds=seconds, concurrency=concurrency, port=port or None)
    click.echo(result.describe())


if __name__ == "__main__":  # `python -m clinic_reminders.simulator.cli`: used by the bench and the test fixture
    simulator_command()
