"""Trust Hub (trusthub.twilio.com/v1): customer profiles and trust products (the same bundle resource under two
names, with their entity assignments and evaluations), end-users, supporting documents and the policies.

A bundle is a draft until its status is updated to pending-review, which submits it for review (reviews.py);
while it is in review or approved it cannot be changed (60711). An evaluation judges it against a policy and
says what is missing (policies.py).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from . import reviews
from .forms import read, require, text
from .policies import POLICIES, compliant, evaluate, policy_json
from .registry import (
    Bundle,
    CustomerProfile,
    EndUser,
    EntityAssignment,
    Evaluation,
    Registry,
    SupportingDocument,
    TrustProduct,
)
from .rest import ApiError, RestRequest, Result, Route, page_v1, route
from .shapes_trusthub import assignment_json, bundle_json, document_json, end_user_json, evaluation_json
from .state import new_sid, now

if TYPE_CHECKING:
    from .core import Simulator

ROUTES: list[Route] = []
SID = r"[0-9a-fA-F]{32}"
BUNDLES = r"/v1/(?P<collection>CustomerProfiles|TrustProducts)"
BUNDLE = BUNDLES + rf"/(?P<bundle>BU{SID})"
ENTITIES = r"/v1/(?P<collection>EndUsers|SupportingDocuments)"
ENTITY = ENTITIES + rf"/(?P<sid>(?:IT|RD){SID})"
BUNDLE_FIELDS = text("FriendlyName", "Email", "PolicySid", "StatusCallback")


def _registry(sim: Simulator, req: RestRequest) -> Registry:
    return sim.registry.of(req.account.sid)


def _bundles(sim: Simulator, req: RestRequest) -> dict[str, Any]:
    registry = _registry(sim, req)
    return registry.profiles if req.match["collection"] == "CustomerProfiles" else registry.trust_products


def _bundle(sim: Simulator, req: RestRequest) -> Bundle:
    bundle: Bundle | None = _bundles(sim, req).get(req.match["bundle"])
    if bundle is None:
        raise ApiError(20404, path=req.path)
    return bundle


def _editable(bundle: Bundle) -> None:
    if not bundle.editable:
        raise ApiError(60711)


def _policy_sid(value: str) -> str:
    if value not in POLICIES:
        raise ApiError(20001, value="PolicySid")
    return value


# --- customer profiles and trust products -----------------------------------------------------------------------


@route(ROUTES, "POST", BUNDLES, account_in_path=False)
def create_bundle(sim: Simulator, req: RestRequest) -> Result:
    given = read(req, BUNDLE_FIELDS)
    require(given, BUNDLE_FIELDS[:3])
    kind = CustomerProfile if req.match["collection"] == "CustomerProfiles" else TrustProduct
    bundle = kind(
        sid=new_sid("BU"),
        account_sid=req.account.sid,
        status=Bundle.DRAFT,
        policy_sid=_policy_sid(given["policy_sid"]),
        friendly_name=given["friendly_name"],
        email=given["email"],
        status_callback=given.get("status_callback"),
    )
    _bundles(sim, req)[bundle.sid] = bundle
    return 201, bundle_json(bundle, req.base_url)


@route(ROUTES, "GET", BUNDLES, account_in_path=False)
def list_bundles(sim: Simulator, req: RestRequest) -> Result:
    status, name, policy = req.arg("Status"), req.arg("FriendlyName"), req.arg("PolicySid")
    found = [
        b
        for b in _bundles(sim, req).values()
        if status in (None, b.status) and name in (None, b.friendly_name) and policy in (None, b.policy_sid)
    ]
    return page_v1(req, "results", found, lambda b: bundle_json(b, req.base_url))


@route(ROUTES, "GET", BUNDLE, account_in_path=False)
def fetch_bundle(sim: Simulator, req: RestRequest) -> Result:
    return 200, bundle_json(_bundle(sim, req), req.base_url)


@route(ROUTES, "POST", BUNDLE, account_in_path=False)
def update_bundle(sim: Simulator, req: RestRequest) -> Result:
    """Change a draft (or rejected) bundle; `Status=pending-review` submits it."""
    bundle = _bundle(sim, req)
    _editable(bundle)
    given = read(req, [*text("Status"), *BUNDLE_FIELDS])
    status = given.pop("status", None)
    if status not in (None, bundle.LIFECYCLE.submitted):
        raise ApiError(20001, value="Status")
    for name in ("friendly_name", "email", "status_callback"):
        if name in given:
            setattr(bundle, name, given[name])
    bundle.date_updated = now()
    if status is not None:
        reviews.submit(sim, bundle)
    return 200, bundle_json(bundle, req.base_url)


@route(ROUTES, "DELETE", BUNDLE, account_in_path=False)
def delete_bundle(sim: Simulator, req: RestRequest) -> Result:
    del _bundles(sim, req)[_bundle(sim, req).sid]
    return 204, None


@route(ROUTES, "POST", BUNDLE + r"/EntityAssignments", account_in_path=False)
def assign(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    _editable(bundle)
    given = read(req, text("ObjectSid"))
    require(given, text("ObjectSid"))
    registry, sid = _registry(sim, req), given["object_sid"]
    known = sid in registry.end_users or sid in registry.documents or registry.bundle(sid) is not None
    if not known and sim.registry.profile_anywhere(sid) is None:
        raise ApiError(20001, value="ObjectSid")
    assignment = EntityAssignment(new_sid("BV"), bundle.sid, bundle.account_sid, sid)
    bundle.assignments[assignment.sid] = assignment
    return 201, assignment_json(bundle, assignment, req.base_url)


@route(ROUTES, "GET", BUNDLE + r"/EntityAssignments", account_in_path=False)
def list_assignments(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    found = list(bundle.assignments.values())
    return page_v1(req, "results", found, lambda a: assignment_json(bundle, a, req.base_url))


@route(ROUTES, "GET", BUNDLE + rf"/EntityAssignments/(?P<sid>BV{SID})", account_in_path=False)
def fetch_assignment(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    assignment = bundle.assignments.get(req.match["sid"])
    if assignment is None:
        raise ApiError(20404, path=req.path)
    return 200, assignment_json(bundle, assignment, req.base_url)


@route(ROUTES, "DELETE", BUNDLE + rf"/EntityAssignments/(?P<sid>BV{SID})", account_in_path=False)
def unassign(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    _editable(bundle)
    if bundle.assignments.pop(req.match["sid"], None) is None:
        raise ApiError(20404, path=req.path)
    return 204, None


@route(ROUTES, "POST", BUNDLE + r"/Evaluations", account_in_path=False)
def create_evaluation(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    given = read(req, text("PolicySid"))
    require(given, text("PolicySid"))
    policy = POLICIES[_policy_sid(given["policy_sid"])]
    results = evaluate(bundle, policy, _registry(sim, req), sim.registry)
    status = "compliant" if compliant(results) else "noncompliant"
    evaluation = Evaluation(new_sid("EL"), bundle.account_sid, policy.sid, bundle.sid, status, results)
    bundle.evaluations[evaluation.sid] = evaluation
    return 201, evaluation_json(bundle, evaluation, req.base_url)


@route(ROUTES, "GET", BUNDLE + r"/Evaluations", account_in_path=False)
def list_evaluations(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    found = list(reversed(bundle.evaluations.values()))
    return page_v1(req, "results", found, lambda e: evaluation_json(bundle, e, req.base_url))


@route(ROUTES, "GET", BUNDLE + rf"/Evaluations/(?P<sid>EL{SID})", account_in_path=False)
def fetch_evaluation(sim: Simulator, req: RestRequest) -> Result:
    bundle = _bundle(sim, req)
    evaluation = bundle.evaluations.get(req.match["sid"])
    if evaluation is None:
        raise ApiError(20404, path=req.path)
    return 200, evaluation_json(bundle, evaluation, req.base_url)


# --- end-users and supporting documents -------------------------------------------------------------------------


def _entities(sim: Simulator, req: RestRequest) -> dict[str, Any]:
    registry = _registry(sim, req)
    return registry.end_users if req.match["collection"] == "EndUsers" else registry.documents


def _entity(sim: Simulator, req: RestRequest) -> EndUser | SupportingDocument:
    entity: EndUser | SupportingDocument | None = _entities(sim, req).get(req.match["sid"])
    if entity is None:
        raise ApiError(20404, path=req.path)
    return entity


def _render_entity(entity: EndUser | SupportingDocument, base_url: str) -> dict[str, Any]:
    return end_user_json(entity, base_url) if isinstance(entity, EndUser) else document_json(entity, base_url)


def _attributes(req: RestRequest) -> dict[str, Any] | None:
    value = req.arg("Attributes")
    if value is None:
        return None
    try:
        attributes = json.loads(value) if value else {}
    except ValueError:
        raise ApiError(20001, value="Attributes") from None
    if not isinstance(attributes, dict):
        raise ApiError(20001, value="Attributes")
    return attributes


@route(ROUTES, "POST", ENTITIES, account_in_path=False)
def create_entity(sim: Simulator, req: RestRequest) -> Result:
    given = read(req, text("FriendlyName", "Type"))
    require(given, text("FriendlyName", "Type"))
    attributes = _attributes(req) or {}
    entity: EndUser | SupportingDocument
    if req.match["collection"] == "EndUsers":
        entity = EndUser(new_sid("IT"), req.account.sid, given["friendly_name"], given["type"], attributes)
    else:
        entity = SupportingDocument(new_sid("RD"), req.account.sid, given["friendly_name"], given["type"], attributes)
    _entities(sim, req)[entity.sid] = entity
    return 201, _render_entity(entity, req.base_url)


@route(ROUTES, "GET", ENTITIES, account_in_path=False)
def list_entities(sim: Simulator, req: RestRequest) -> Result:
    found = list(_entities(sim, req).values())
    return page_v1(req, "results", found, lambda e: _render_entity(e, req.base_url))


@route(ROUTES, "GET", ENTITY, account_in_path=False)
def fetch_entity(sim: Simulator, req: RestRequest) -> Result:
    return 200, _render_entity(_entity(sim, req), req.base_url)


@route(ROUTES, "POST", ENTITY, account_in_path=False)
def update_entity(sim: Simulator, req: RestRequest) -> Result:
    entity = _entity(sim, req)
    name, attributes = req.arg("FriendlyName"), _attributes(req)
    if name is not None:
        entity.friendly_name = name
    if attributes is not None:
        entity.attributes = attributes
    entity.date_updated = now()
    return 200, _render_entity(entity, req.base_url)


@route(ROUTES, "DELETE", ENTITY, account_in_path=False)
def delete_entity(sim: Simulator, req: RestRequest) -> Result:
    del _entities(sim, req)[_entity(sim, req).sid]
    return 204, None


# --- policies ---------------------------------------------------------------------------------------------------


@route(ROUTES, "GET", r"/v1/Policies", account_in_path=False)
def list_policies(sim: Simulator, req: RestRequest) -> Result:
    return page_v1(req, "results", list(POLICIES.values()), lambda p: policy_json(p, req.base_url))


@route(ROUTES, "GET", rf"/v1/Policies/(?P<sid>RN{SID})", account_in_path=False)
def fetch_policy(sim: Simulator, req: RestRequest) -> Result:
    policy = POLICIES.get(req.match["sid"])
    if policy is None:
        raise ApiError(20404, path=req.path)
    return 200, policy_json(policy, req.base_url)
