"""Twilio's 2010-API Addresses: the business address a Trust Hub customer profile's supporting document points at
(Twilio's ISV onboarding guide creates one per customer). Create, fetch, list, update."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .rest import ApiError, RestRequest, Result, Route, page_2010, route
from .shapes import API, rfc2822
from .state import Address, new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []
ADDRESSES = r"/2010-04-01/Accounts/(?P<account>AC[0-9a-fA-F]{32})/Addresses"
ONE = ADDRESSES + r"/(?P<sid>AD[0-9a-fA-F]{32})\.json"
REQUIRED = {
    "CustomerName": "customer_name",
    "Street": "street",
    "City": "city",
    "Region": "region",
    "PostalCode": "postal_code",
    "IsoCountry": "iso_country",
}
FIELDS = {**REQUIRED, "FriendlyName": "friendly_name", "StreetSecondary": "street_secondary"}


def address_json(a: Address) -> dict[str, Any]:
    return {
        "account_sid": a.account_sid,
        **{name: a.values.get(name) for name in FIELDS.values()},
        "date_created": rfc2822(a.date_created),
        "date_updated": rfc2822(a.date_updated),
        "sid": a.sid,
        "uri": f"{API}/Accounts/{a.account_sid}/Addresses/{a.sid}.json",
        "emergency_enabled": False,
        "validated": True,
        "verified": True,
    }


def _given(req: RestRequest) -> dict[str, str]:
    return {field: value for param, field in FIELDS.items() if (value := req.arg(param)) is not None}


@route(ROUTES, "POST", ADDRESSES + r"\.json")
def create_address(sim: Simulator, req: RestRequest) -> Result:
    missing = [param for param in REQUIRED if not req.arg(param)]
    if missing:
        raise ApiError(20001, value=missing[0])
    address = Address(new_sid("AD"), req.account.sid, _given(req))
    req.account.addresses[address.sid] = address
    return 201, address_json(address)


def _find(req: RestRequest) -> Address:
    address = req.account.addresses.get(req.match["sid"])
    if address is None:
        raise ApiError(20404, path=req.path)
    return address


@route(ROUTES, "GET", ONE)
def fetch_address(sim: Simulator, req: RestRequest) -> Result:
    return 200, address_json(_find(req))


@route(ROUTES, "POST", ONE)
def update_address(sim: Simulator, req: RestRequest) -> Result:
    address = _find(req)
    address.values.update(_given(req))
    address.date_updated = now()
    return 200, address_json(address)


@route(ROUTES, "GET", ADDRESSES + r"\.json")
def list_addresses(sim: Simulator, req: RestRequest) -> Result:
    found = list(reversed(req.account.addresses.values()))
    return page_2010(req, "addresses", found, address_json)
