"""X-Twilio-Signature: check what Twilio sends us, and sign what the simulator sends.

Twilio signs the URL it called, as configured on its side (our public URL), plus for a POST every form
parameter. Behind a proxy or TLS terminator the server sees another scheme, host or port, so the URL is always
rebuilt from the configured public URL and the request's raw path and query, never from the Host header.
`RequestValidator` itself tries the URL with and without the default port, as Twilio is inconsistent there.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping
from urllib.parse import quote

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"

Params = Mapping[str, str] | Iterable[tuple[str, str]]


class MultiParams(dict[str, list[str]]):
    """Form parameters that may repeat (`StatusCallbackEvent=a&StatusCallbackEvent=b`).

    `RequestValidator` reads repeated values through `getall`, as with Flask's MultiDict.
    """

    @classmethod
    def of(cls, params: Params | None) -> MultiParams:
        result = cls()
        if params is None:
            return result
        if isinstance(params, MultiParams):
            return params
        if isinstance(params, Mapping):
            getlist = getattr(params, "getlist", None)
            for key in params:
                values = getlist(key) if getlist is not None else [params[key]]
                result.setdefault(str(key), []).extend(str(v) for v in values)
            return result
        for key, value in params:
            result.setdefault(key, []).append(value)
        return result

    def getall(self, key: str) -> list[str]:
        return self[key]


def path_with_query(path: str | bytes, query_string: str | bytes = b"") -> str:
    """The request target as Twilio wrote it: raw (still percent-encoded) path, then `?query` if any.

    Pass ASGI's `scope["raw_path"]` where available; a decoded `scope["path"]` is re-quoted.
    """
    target = path.decode("latin-1") if isinstance(path, bytes) else quote(path, safe="/%:@!$&'()*+,;=~-._")
    query = query_string.decode("latin-1") if isinstance(query_string, bytes) else query_string
    return f"{target}?{query}" if query else target


def compute_signature(auth_token: str, url: str, params: Params | None = None) -> str:
    """The X-Twilio-Signature Twilio would send for `url` (with its query) and form `params` (POST only)."""
    return str(RequestValidator(auth_token).compute_signature(url, MultiParams.of(params)))


class WebhookSignatureValidator:
    """Validates Twilio webhooks against the configured public URL (e.g. `https://clinic.example.com:8080`)."""

    def __init__(self, auth_token: str, public_url: str) -> None:
        if not auth_token:
            raise ValueError("an auth token is needed to validate Twilio signatures")
        self._validator = RequestValidator(auth_token)
        self.public_url = public_url.rstrip("/")

    def url_for(self, target: str) -> str:
        """The full URL Twilio called for a request target (`/app_confirm?x=1`)."""
        return self.public_url + (target if target.startswith("/") else "/" + target)

    def is_valid(self, target: str, params: Params | None, signature: str | None) -> bool:
        """True when `signature` matches the request.

        `target` is the path and query as received (see `path_with_query`); `params` are the form
        parameters of a POST (all of them, as Twilio adds new ones without notice), nothing for a GET.
        """
        if not signature:
            return False
        url, multi = self.url_for(target), MultiParams.of(params)
        # The URL exactly as configured is one of the two `validate` tries: check it alone first, which is all
        # a genuine request needs and spares the webhooks' hot path re-parsing the URL twice.
        expected = self._validator.compute_signature(url, multi)
        if hmac.compare_digest(expected.encode(), signature.encode()):  # bytes: the header may be any text
            return True
        return bool(self._validator.validate(url, multi, signature))
