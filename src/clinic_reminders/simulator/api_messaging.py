"""Messaging Services (messaging.twilio.com/v1/Services): the services, their sender pools, and the A2P 10DLC
campaign of each (Compliance/Usa2p), with the use-case lists.

A number belongs to one service at a time (21712; 80104 if it is already in this one). A campaign needs an
APPROVED brand (21717) and the parameters Twilio requires (21727); it is reviewed like any registration
(reviews.py) and a FAILED one may be edited and resubmitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import reviews
from .forms import Param, read, require, text
from .registry import Campaign, MessagingService, Registry
from .rest import ApiError, RestRequest, Result, Route, page_v1, route
from .shapes_messaging import campaign_json, service_json, service_number_json
from .state import new_sid, now
from .usecases import SERVICE_USECASES, a2p_usecases_json, service_usecases_json

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []
SID = r"[0-9a-fA-F]{32}"
SERVICE = rf"/v1/Services/(?P<service>MG{SID})"
CAMPAIGNS = SERVICE + r"/Compliance/Usa2p"
METHODS = frozenset({"GET", "POST"})

SERVICE_PARAMS = [
    *text("FriendlyName", "InboundRequestUrl", "FallbackUrl", "StatusCallback"),
    Param("InboundMethod", choices=METHODS),
    Param("FallbackMethod", choices=METHODS),
    Param("ScanMessageContent", choices=frozenset({"inherit", "enable", "disable"})),
    Param("Usecase", choices=frozenset(u for u, _, _ in SERVICE_USECASES)),
    Param("ValidityPeriod", "int"),
    *(
        Param(name, "bool")
        for name in (
            "StickySender",
            "MmsConverter",
            "SmartEncoding",
            "FallbackToLongCode",
            "AreaCodeGeomatch",
            "SynchronousValidation",
            "UseInboundWebhookOnNumber",
        )
    ),
]
CAMPAIGN_REQUIRED = [
    *text("BrandRegistrationSid", "Description", "MessageFlow"),
    Param("MessageSamples", "list"),
    Param("UsAppToPersonUsecase"),
    Param("HasEmbeddedLinks", "bool"),
    Param("HasEmbeddedPhone", "bool"),
]
CAMPAIGN_EDITABLE = [
    *text("Description", "MessageFlow", "PrivacyPolicyUrl", "TermsAndConditionsUrl"),
    Param("MessageSamples", "list"),
    *(Param(n, "bool") for n in ("HasEmbeddedLinks", "HasEmbeddedPhone", "AgeGated", "DirectLending")),
]
CAMPAIGN_PARAMS = [
    *CAMPAIGN_REQUIRED,
    *text("OptInMessage", "OptOutMessage", "HelpMessage", "PrivacyPolicyUrl", "TermsAndConditionsUrl"),
    *(Param(n, "list") for n in ("OptInKeywords", "OptOutKeywords", "HelpKeywords")),
    *(Param(n, "bool") for n in ("SubscriberOptIn", "AgeGated", "DirectLending")),
]
CAMPAIGN_UPDATE_REQUIRED = [p for p in CAMPAIGN_EDITABLE if p.name not in ("PrivacyPolicyUrl", "TermsAndConditionsUrl")]


def _registry(sim: Simulator, req: RestRequest) -> Registry:
    return sim.registry.of(req.account.sid)


def _service(sim: Simulator, req: RestRequest) -> MessagingService:
    service = _registry(sim, req).services.get(req.match["service"])
    if service is None:
        raise ApiError(20404, path=req.path)
    return service


def _render(sim: Simulator, req: RestRequest, service: MessagingService) -> dict[str, object]:
    campaign = _registry(sim, req).campaign_of(service.sid)
    return service_json(service, req.base_url, registered=campaign is not None and campaign.approved)


def _configure(service: MessagingService, req: RestRequest) -> None:
    settings = read(req, SERVICE_PARAMS)
    if not 1 <= settings.get("validity_period", service.validity_period) <= 36000:
        raise ApiError(20001, value="ValidityPeriod")
    for name, value in settings.items():
        setattr(service, name, value)
    service.date_updated = now()


# --- services ---------------------------------------------------------------------------------------------------


@route(ROUTES, "POST", r"/v1/Services", account_in_path=False)
def create_service(sim: Simulator, req: RestRequest) -> Result:
    require(read(req, text("FriendlyName")), text("FriendlyName"))
    service = MessagingService(new_sid("MG"), req.account.sid, friendly_name="")
    _configure(service, req)
    _registry(sim, req).services[service.sid] = service
    return 201, _render(sim, req, service)


@route(ROUTES, "GET", r"/v1/Services", account_in_path=False)
def list_services(sim: Simulator, req: RestRequest) -> Result:
    found = list(_registry(sim, req).services.values())
    return page_v1(req, "services", found, lambda s: _render(sim, req, s))


@route(ROUTES, "GET", r"/v1/Services/Usecases", account_in_path=False)
def list_service_usecases(sim: Simulator, req: RestRequest) -> Result:
    return 200, service_usecases_json()


@route(ROUTES, "GET", SERVICE, account_in_path=False)
def fetch_service(sim: Simulator, req: RestRequest) -> Result:
    return 200, _render(sim, req, _service(sim, req))


@route(ROUTES, "POST", SERVICE, account_in_path=False)
def update_service(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    _configure(service, req)
    return 200, _render(sim, req, service)


@route(ROUTES, "DELETE", SERVICE, account_in_path=False)
def delete_service(sim: Simulator, req: RestRequest) -> Result:
    registry = _registry(sim, req)
    service = _service(sim, req)
    del registry.services[service.sid]
    for campaign in [c for c in registry.campaigns.values() if c.messaging_service_sid == service.sid]:
        del registry.campaigns[campaign.sid]
    return 204, None


# --- the sender pool --------------------------------------------------------------------------------------------


@route(ROUTES, "POST", SERVICE + r"/PhoneNumbers", account_in_path=False)
def add_number(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    given = read(req, text("PhoneNumberSid"))
    require(given, text("PhoneNumberSid"))
    number = req.account.numbers.get(given["phone_number_sid"])
    if number is None:
        raise ApiError(21421, value=given["phone_number_sid"])
    if not number.sms:
        raise ApiError(21715)
    holder = _registry(sim, req).service_of(number.sid)
    if holder is service:
        raise ApiError(80104)
    if holder is not None:
        raise ApiError(21712)
    service.senders[number.sid] = now()
    return 201, service_number_json(service, number, req.base_url)


@route(ROUTES, "GET", SERVICE + r"/PhoneNumbers", account_in_path=False)
def list_numbers(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    found = [req.account.numbers[sid] for sid in service.senders if sid in req.account.numbers]
    return page_v1(req, "phone_numbers", found, lambda n: service_number_json(service, n, req.base_url))


@route(ROUTES, "GET", SERVICE + rf"/PhoneNumbers/(?P<sid>PN{SID})", account_in_path=False)
def fetch_number(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    number = req.account.numbers.get(req.match["sid"])
    if number is None or number.sid not in service.senders:
        raise ApiError(20404, path=req.path)
    return 200, service_number_json(service, number, req.base_url)


@route(ROUTES, "DELETE", SERVICE + rf"/PhoneNumbers/(?P<sid>PN{SID})", account_in_path=False)
def remove_number(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    sid = req.match["sid"]
    if service.senders.pop(sid, None) is None:
        raise ApiError(20404, path=req.path)
    service.sticky = {to: sender for to, sender in service.sticky.items() if sender != sid}
    return 204, None


# --- the A2P 10DLC campaign -------------------------------------------------------------------------------------


@route(ROUTES, "POST", CAMPAIGNS, account_in_path=False)
def create_campaign(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    registry = _registry(sim, req)
    details = read(req, CAMPAIGN_PARAMS)
    require(details, CAMPAIGN_REQUIRED, code=21727)
    brand = registry.brands.get(details.pop("brand_registration_sid"))
    if brand is None or not brand.approved:
        raise ApiError(21717)
    campaign = Campaign(
        sid=new_sid("QE"),
        account_sid=req.account.sid,
        status=Campaign.LIFECYCLE.submitted,
        messaging_service_sid=service.sid,
        brand_registration_sid=brand.sid,
        details=details,
        mock=brand.mock,
    )
    registry.campaigns[campaign.sid] = campaign
    reviews.submit(sim, campaign)
    return 201, campaign_json(campaign, req.base_url)


@route(ROUTES, "GET", CAMPAIGNS, account_in_path=False)
def list_campaigns(sim: Simulator, req: RestRequest) -> Result:
    service = _service(sim, req)
    found = [c for c in _registry(sim, req).campaigns.values() if c.messaging_service_sid == service.sid]
    return page_v1(req, "compliance", found, lambda c: campaign_json(c, req.base_url))


@route(ROUTES, "GET", CAMPAIGNS + r"/Usecases", account_in_path=False)
def list_campaign_usecases(sim: Simulator, req: RestRequest) -> Result:
    _service(sim, req)
    brand_sid = req.arg("BrandRegistrationSid")
    if brand_sid is not None and brand_sid not in _registry(sim, req).brands:
        raise ApiError(20404, path=req.path)
    return 200, a2p_usecases_json()


def _campaign(sim: Simulator, req: RestRequest) -> Campaign:
    service = _service(sim, req)
    campaign = _registry(sim, req).campaigns.get(req.match["sid"])
    if campaign is None or campaign.messaging_service_sid != service.sid:
        raise ApiError(20404, path=req.path)
    return campaign


@route(ROUTES, "GET", CAMPAIGNS + rf"/(?P<sid>QE{SID})", account_in_path=False)
def fetch_campaign(sim: Simulator, req: RestRequest) -> Result:
    return 200, campaign_json(_campaign(sim, req), req.base_url)


@route(ROUTES, "POST", CAMPAIGNS + rf"/(?P<sid>QE{SID})", account_in_path=False)
def update_campaign(sim: Simulator, req: RestRequest) -> Result:
    """Edit a FAILED campaign and resubmit it for review."""
    campaign = _campaign(sim, req)
    changes = read(req, CAMPAIGN_EDITABLE)
    require(changes, CAMPAIGN_UPDATE_REQUIRED)
    if not campaign.rejected:
        raise ApiError(20001, message=f"A campaign in status {campaign.status} cannot be edited; only a FAILED one")
    campaign.details.update(changes)
    reviews.submit(sim, campaign)
    return 200, campaign_json(campaign, req.base_url)


@route(ROUTES, "DELETE", CAMPAIGNS + rf"/(?P<sid>QE{SID})", account_in_path=False)
def delete_campaign(sim: Simulator, req: RestRequest) -> Result:
    campaign = _campaign(sim, req)
    del _registry(sim, req).campaigns[campaign.sid]
    return 204, None
