"""Reading the v1 APIs' form parameters: typed, checked against their allowed values, by JSON field name
(`HasEmbeddedLinks` -> `has_embedded_links`), as the resources report them back."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .rest import ApiError, RestRequest

_WORD = re.compile(r"(?<!^)(?=[A-Z])")


@dataclass(frozen=True, slots=True)
class Param:
    name: str  # as sent, e.g. MessageSamples
    kind: str = "str"  # str | list | bool | int
    choices: frozenset[str] = frozenset()
    key: str | None = None  # the field name, when not the name in snake case (A2PProfileBundleSid)

    @property
    def field(self) -> str:
        return self.key or _WORD.sub("_", self.name).lower()


def text(*names: str) -> list[Param]:
    return [Param(n) for n in names]


def read(req: RestRequest, params: Iterable[Param]) -> dict[str, Any]:
    """The parameters given (and only those), by field name; a bad value is Twilio's 20001 naming it."""
    found: dict[str, Any] = {}
    for param in params:
        values = req.args(param.name)
        if not values:
            continue
        if param.kind == "list":
            value: Any = [v for v in values if v != ""]
            bad = [v for v in value if param.choices and v not in param.choices]
        elif param.kind == "bool":
            value = _boolean(param.name, values[0])
            bad = []
        elif param.kind == "int":
            value = req.int_arg(param.name, 0)
            bad = []
        else:
            value = values[0]
            bad = [value] if param.choices and value not in param.choices else []
        if bad:
            raise ApiError(20001, value=param.name)
        found[param.field] = value
    return found


def require(given: dict[str, Any], params: Iterable[Param], code: int = 20001) -> None:
    """Every one of `params` was given; else Twilio's error `code` naming the first one missing."""
    for param in params:
        if given.get(param.field) in (None, "", []):
            message = f"Missing required parameter {param.name} in the post body" if code == 20001 else None
            raise ApiError(code, value=param.name, message=message)


def _boolean(name: str, value: str) -> bool:
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(20001, value=name)
