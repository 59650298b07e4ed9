"""One FHIR server as a destination of kind "fhir" reaches it: its base URL, its authentication (a bearer token,
or SMART backend services) and, for one send, a deadline that every request shares.

Failures become `DeliveryFailed` with a short reason: the HTTP status and the OperationOutcome's issue codes
(a fixed vocabulary), never a diagnostic or anything of a resource, which may hold patient data.
"""

from __future__ import annotations

import re
import time
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import smart_auth
from .transports import DeliveryFailed, DestinationConfig

FHIR_JSON = "application/fhir+json"
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # a resource id as FHIR defines it: safe in a URL path
_ISSUE_CODE = re.compile(r"^[a-z-]{1,30}$")  # FHIR's IssueType codes ("invalid", "not-found", "conflict"...)
# Statuses that say the request will never be taken as it is (the others may pass later: 408, 409, 412, 429, 5xx)
_REFUSED_FOR_GOOD = frozenset({400, 401, 403, 405, 406, 415, 422})


def reference_type(reference: str) -> str:
    """The resource type a literal reference names: "Patient" for Patient/1, https://x/fhir/Patient/1/_history/2."""
    path = reference.split("/_history/")[0].rstrip("/").split("/")
    return path[-2] if len(path) >= 2 else ""


def relative(reference: str) -> str:
    """Type/id of a literal reference, relative or absolute."""
    return "/".join(reference.split("/_history/")[0].rstrip("/").split("/")[-2:])


def issue_codes(response: httpx.Response) -> list[str]:
    """The issue codes of an OperationOutcome answer (at most three), else nothing."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict) or body.get("resourceType") != "OperationOutcome":
        return []
    issues = body.get("issue")
    codes = [i.get("code") for i in issues if isinstance(i, dict)] if isinstance(issues, list) else []
    return [c for c in codes if isinstance(c, str) and _ISSUE_CODE.fullmatch(c)][:3]


def is_fhir(response: httpx.Response) -> bool:
    """Whether the answer came from a FHIR server (a FHIR resource), not from a web server in front of it."""
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and isinstance(body.get("resourceType"), str)


def refused(response: httpx.Response, what: str) -> DeliveryFailed:
    """The failure for an answer that is not a success: "PUT Appointment: HTTP 422 (invalid)"."""
    codes = issue_codes(response)
    said = f" ({', '.join(codes)})" if codes else ""
    status = response.status_code
    hint = "; check base_url" if 300 <= status < 400 else ""
    return DeliveryFailed(f"{what}: HTTP {status}{said}{hint}", permanent=status in _REFUSED_FOR_GOOD)


class FhirServer:
    """Requests to one destination's FHIR server within `timeout` seconds in all; use it as a context manager."""

    def __init__(self, destination: DestinationConfig, *, timeout: float) -> None:
        self.destination = destination
        self.timeout = timeout
        base = str(destination.settings.get("base_url") or "")
        if not base.startswith(("https://", "http://")):
            raise DeliveryFailed("the destination has no base_url", permanent=True)
        self.base_url = base.rstrip("/") + "/"
        self._deadline = time.monotonic() + timeout
        self._client = httpx.Client(follow_redirects=False)

    def __enter__(self) -> FhirServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._client.close()

    def owns(self, url: str) -> bool:
        """Whether an absolute URL is on this server (below its base): only there do our credentials go."""
        return url.startswith(self.base_url)

    def request(
        self, method: str, path: str, *, what: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        """`path` below the base URL (or an absolute URL that `owns`). An answer of any status is returned; only a
        server that cannot be reached raises. A 401 on a SMART token asks for a new token and tries once more."""
        if "://" in path and not self.owns(path):
            raise ValueError("not a URL of this FHIR server")
        url = path if self.owns(path) else self.base_url + path.lstrip("/")
        all_headers = {"Accept": FHIR_JSON, **(headers or {})}
        if json is not None:
            all_headers["Content-Type"] = FHIR_JSON
        response = self._send(method, url, what, json, all_headers)
        if response.status_code == 401 and self._smart:
            smart_auth.forget(self.destination)
            response = self._send(method, url, what, json, all_headers)
        return response

    @property
    def _smart(self) -> bool:
        return self.destination.settings.get("auth") == "smart"

    def _send(self, method: str, url: str, what: str, json: Any, headers: dict[str, str]) -> httpx.Response:
        headers = {**headers, "Authorization": f"Bearer {self._token()}"}
        try:
            return self._client.request(method, url, json=json, headers=headers, timeout=self._left())
        except httpx.TimeoutException:
            raise DeliveryFailed(f"{what}: no answer from {self._host} within {self.timeout:g} s") from None
        except httpx.ConnectError as exc:
            raise DeliveryFailed(f"{what}: {self._host} {_connect_failure(exc)}") from None
        except httpx.HTTPError as exc:
            raise DeliveryFailed(f"{what}: {self._host} failed ({type(exc).__name__})") from None

    def _token(self) -> str:
        if self._smart:
            return smart_auth.access_token(self.destination, self._client, self._left())
        if not self.destination.secret:
            raise DeliveryFailed("the destination has no access token", permanent=True)
        return self.destination.secret

    def _left(self) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DeliveryFailed(f"the FHIR server did not finish within {self.timeout:g} s")
        return left

    @property
    def _host(self) -> str:
        return urlsplit(self.base_url).netloc


def _connect_failure(exc: httpx.ConnectError) -> str:
    text = str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return "presented a certificate that is not trusted"
    if "refused" in text.lower():
        return "refused the connection"
    return "could not be reached"
