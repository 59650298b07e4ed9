"""Trust Hub records as Twilio's JSON (trusthub.twilio.com/v1): customer profiles and trust products, their
entity assignments and evaluations, end-users and supporting documents. Links are named as in Twilio's
examples; URLs are absolute."""

from __future__ import annotations

from typing import Any

from .registry import Bundle, CustomerProfile, EndUser, EntityAssignment, Evaluation, SupportingDocument
from .shapes import iso


def collection(bundle: Bundle) -> str:
    return "CustomerProfiles" if isinstance(bundle, CustomerProfile) else "TrustProducts"


def bundle_json(b: Bundle, base_url: str) -> dict[str, Any]:
    url = f"{base_url}/v1/{collection(b)}/{b.sid}"
    prefix = "customer_profiles" if isinstance(b, CustomerProfile) else "trust_products"
    return {
        "sid": b.sid,
        "account_sid": b.account_sid,
        "policy_sid": b.policy_sid,
        "friendly_name": b.friendly_name,
        "status": b.status,
        "valid_until": iso(b.valid_until),
        "email": b.email,
        "status_callback": b.status_callback,
        "date_created": iso(b.date_created),
        "date_updated": iso(b.date_updated),
        "url": url,
        "links": {
            f"{prefix}_entity_assignments": f"{url}/EntityAssignments",
            f"{prefix}_evaluations": f"{url}/Evaluations",
            f"{prefix}_channel_endpoint_assignment": f"{url}/ChannelEndpointAssignments",
        },
        "errors": b.errors,
    }


def assignment_json(bundle: Bundle, a: EntityAssignment, base_url: str) -> dict[str, Any]:
    owner = "customer_profile_sid" if isinstance(bundle, CustomerProfile) else "trust_product_sid"
    return {
        "sid": a.sid,
        owner: a.bundle_sid,
        "account_sid": a.account_sid,
        "object_sid": a.object_sid,
        "date_created": iso(a.date_created),
        "url": f"{base_url}/v1/{collection(bundle)}/{bundle.sid}/EntityAssignments/{a.sid}",
    }


def evaluation_json(bundle: Bundle, e: Evaluation, base_url: str) -> dict[str, Any]:
    owner = "customer_profile_sid" if isinstance(bundle, CustomerProfile) else "trust_product_sid"
    return {
        "sid": e.sid,
        "account_sid": e.account_sid,
        "policy_sid": e.policy_sid,
        owner: e.bundle_sid,
        "status": e.status,
        "results": e.results,
        "date_created": iso(e.date_created),
        "url": f"{base_url}/v1/{collection(bundle)}/{bundle.sid}/Evaluations/{e.sid}",
    }


def end_user_json(u: EndUser, base_url: str) -> dict[str, Any]:
    return {
        "sid": u.sid,
        "account_sid": u.account_sid,
        "friendly_name": u.friendly_name,
        "type": u.type,
        "attributes": u.attributes,
        "date_created": iso(u.date_created),
        "date_updated": iso(u.date_updated),
        "url": f"{base_url}/v1/EndUsers/{u.sid}",
    }


def document_json(d: SupportingDocument, base_url: str) -> dict[str, Any]:
    return {
        "sid": d.sid,
        "account_sid": d.account_sid,
        "friendly_name": d.friendly_name,
        "mime_type": None,
        "status": d.status,
        "type": d.type,
        "attributes": d.attributes,
        "date_created": iso(d.date_created),
        "date_updated": iso(d.date_updated),
        "url": f"{base_url}/v1/SupportingDocuments/{d.sid}",
    }
