"""Carrier registration at Twilio through the official SDK: the office's Messaging Service and its senders, Trust
Hub bundles (secondary customer profile, A2P trust product) with their end users, documents and evaluations, A2P
10DLC brands and campaigns, and toll-free verifications. `TwilioGateway.registration` exposes it.

Set-up calls, all synchronous. Every failure is a `TwilioError`; the SDK's exception texts, which may quote the
submitted values, are dropped as elsewhere in the gateway.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

from .registration_records import (
    Assignment,
    Brand,
    Bundle,
    Campaign,
    Evaluation,
    MessagingService,
    ServiceSender,
    TollfreeVerification,
)
from .sdk import as_int, translated


class BundleKind(enum.StrEnum):
    """The two Trust Hub bundles of A2P registration share one API shape under two names."""

    CUSTOMER_PROFILE = "customer_profiles"
    TRUST_PRODUCT = "trust_products"


class RegistrationApi:
    def __init__(self, client: Any, account_sid: str) -> None:
        self._client = client
        self._account_sid = account_sid

    @property
    def _messaging(self) -> Any:
        return self._client.messaging.v1

    @property
    def _trusthub(self) -> Any:
        return self._client.trusthub.v1

    # --- Messaging Services -------------------------------------------------------------------------------------

    def list_services(self, *, limit: int = 200) -> list[MessagingService]:
        with translated():
            found = self._messaging.services.list(limit=limit)
        return [_service(s) for s in found]

    def fetch_service(self, sid: str) -> MessagingService:
        with translated():
            return _service(self._messaging.services(sid).fetch())

    def create_service(
        self,
        friendly_name: str,
        *,
        inbound_request_url: str | None = None,
        inbound_method: str | None = None,
        status_callback: str | None = None,
        sticky_sender: bool | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> MessagingService:
        with translated():
            service = self._messaging.services.create(
                friendly_name=friendly_name,
                inbound_request_url=inbound_request_url,
                inbound_method=inbound_method,
                status_callback=status_callback,
                sticky_sender=sticky_sender,
                use_inbound_webhook_on_number=use_inbound_webhook_on_number,
            )
        return _service(service)

    def update_service(
        self,
        sid: str,
        *,
        inbound_request_url: str | None = None,
        inbound_method: str | None = None,
        status_callback: str | None = None,
        sticky_sender: bool | None = None,
        use_inbound_webhook_on_number: bool | None = None,
    ) -> MessagingService:
        """Arguments left None stay as they are."""
        with translated():
            service = self._messaging.services(sid).update(
                inbound_request_url=inbound_request_url,
                inbound_method=inbound_method,
                status_callback=status_callback,
                sticky_sender=sticky_sender,
                use_inbound_webhook_on_number=use_inbound_webhook_on_number,
            )
        return _service(service)

    def list_service_senders(self, service_sid: str, *, limit: int = 400) -> list[ServiceSender]:
        with translated():
            found = self._messaging.services(service_sid).phone_numbers.list(limit=limit)
        return [ServiceSender(sid=str(n.sid), phone_number=str(n.phone_number)) for n in found]

    def add_service_sender(self, service_sid: str, number_sid: str) -> ServiceSender:
        """Add a number of the account (by its PN... SID) to the service's sender pool."""
        with translated():
            added = self._messaging.services(service_sid).phone_numbers.create(phone_number_sid=number_sid)
        return ServiceSender(sid=str(added.sid), phone_number=str(added.phone_number))

    # --- Trust Hub ----------------------------------------------------------------------------------------------

    def _bundles(self, kind: BundleKind) -> Any:
        return getattr(self._trusthub, kind.value)

    def list_bundles(
        self, kind: BundleKind, *, policy_sid: str | None = None, status: str | None = None, limit: int = 200
    ) -> list[Bundle]:
        with translated():
            found = self._bundles(kind).list(policy_sid=policy_sid, status=status, limit=limit)
        return [_bundle(b) for b in found]

    def create_bundle(
        self, kind: BundleKind, friendly_name: str, email: str, policy_sid: str, *, status_callback: str | None = None
    ) -> Bundle:
        with translated():
            bundle = self._bundles(kind).create(
                friendly_name=friendly_name, email=email, policy_sid=policy_sid, status_callback=status_callback
            )
        return _bundle(bundle)

    def fetch_bundle(self, kind: BundleKind, sid: str) -> Bundle:
        with translated():
            return _bundle(self._bundles(kind)(sid).fetch())

    def submit_bundle(self, kind: BundleKind, sid: str) -> Bundle:
        """Ask Twilio to review the bundle (status pending-review)."""
        with translated():
            return _bundle(self._bundles(kind)(sid).update(status="pending-review"))

    def assign(self, kind: BundleKind, bundle_sid: str, object_sid: str) -> Assignment:
        """Attach an end user, a supporting document or another bundle to the bundle."""
        with translated():
            assignments = getattr(self._bundles(kind)(bundle_sid), f"{kind.value}_entity_assignments")
            made = assignments.create(object_sid=object_sid)
        return Assignment(sid=str(made.sid), object_sid=str(made.object_sid))

    def list_assignments(self, kind: BundleKind, bundle_sid: str, *, limit: int = 100) -> list[Assignment]:
        with translated():
            assignments = getattr(self._bundles(kind)(bundle_sid), f"{kind.value}_entity_assignments")
            found = assignments.list(limit=limit)
        return [Assignment(sid=str(a.sid), object_sid=str(a.object_sid)) for a in found]

    def evaluate(self, kind: BundleKind, bundle_sid: str, policy_sid: str) -> Evaluation:
        with translated():
            evaluations = getattr(self._bundles(kind)(bundle_sid), f"{kind.value}_evaluations")
            made = evaluations.create(policy_sid=policy_sid)
        return Evaluation(sid=str(made.sid), status=str(made.status or ""), results=list(made.results or []))

    def create_end_user(self, friendly_name: str, type_: str, attributes: dict[str, Any]) -> str:
        with translated():
            return str(
                self._trusthub.end_users.create(friendly_name=friendly_name, type=type_, attributes=attributes).sid
            )

    def update_end_user(self, sid: str, attributes: dict[str, Any]) -> None:
        with translated():
            self._trusthub.end_users(sid).update(attributes=attributes)

    def create_supporting_document(self, friendly_name: str, type_: str, attributes: dict[str, Any]) -> str:
        with translated():
            document = self._trusthub.supporting_documents.create(
                friendly_name=friendly_name, type=type_, attributes=attributes
            )
        return str(document.sid)

    def create_address(
        self,
        friendly_name: str,
        *,
        customer_name: str,
        street: str,
        street_secondary: str | None,
        city: str,
        region: str,
        postal_code: str,
        iso_country: str,
    ) -> str:
        """A 2010-API Address (AD...), which the customer profile's address document points at."""
        with translated():
            address = self._client.api.v2010.accounts(self._account_sid).addresses.create(
                customer_name=customer_name,
                street=street,
                street_secondary=street_secondary or None,
                city=city,
                region=region,
                postal_code=postal_code,
                iso_country=iso_country,
                friendly_name=friendly_name,
            )
        return str(address.sid)

    def update_address(
        self,
        sid: str,
        *,
        customer_name: str,
        street: str,
        street_secondary: str | None,
        city: str,
        region: str,
        postal_code: str,
    ) -> None:
        with translated():
            self._client.api.v2010.accounts(self._account_sid).addresses(sid).update(
                customer_name=customer_name,
                street=street,
                street_secondary=street_secondary or None,
                city=city,
                region=region,
                postal_code=postal_code,
            )

    # --- A2P 10DLC brands and campaigns ---------------------------------------------------------------------------

    def list_brands(self, *, limit: int = 100) -> list[Brand]:
        with translated():
            found = self._messaging.brand_registrations.list(limit=limit)
        return [_brand(b) for b in found]

    def create_brand(
        self, customer_profile_sid: str, trust_product_sid: str, *, skip_automatic_secondary_vetting: bool = False
    ) -> Brand:
        """Submits the brand to The Campaign Registry. This costs money (registration/fees.py)."""
        with translated():
            brand = self._messaging.brand_registrations.create(
                customer_profile_bundle_sid=customer_profile_sid,
                a2p_profile_bundle_sid=trust_product_sid,
                skip_automatic_sec_vet=True if skip_automatic_secondary_vetting else None,
            )
        return _brand(brand)

    def fetch_brand(self, sid: str) -> Brand:
        with translated():
            return _brand(self._messaging.brand_registrations(sid).fetch())

    def resubmit_brand(self, sid: str) -> Brand:
        """A failed brand goes back to review with its bundles' current data (the same brand, never a second)."""
        with translated():
            return _brand(self._messaging.brand_registrations(sid).update())

    def list_use_cases(self, service_sid: str, brand_sid: str) -> list[str]:
        """The campaign use cases this brand may register, by code (ACCOUNT_NOTIFICATION, LOW_VOLUME, ...)."""
        with translated():
            found = self._messaging.services(service_sid).us_app_to_person_usecases.fetch(
                brand_registration_sid=brand_sid
            )
        return [str(u.get("code")) for u in (found.us_app_to_person_usecases or []) if isinstance(u, dict)]

    def list_campaigns(self, service_sid: str, *, limit: int = 20) -> list[Campaign]:
        with translated():
            found = self._messaging.services(service_sid).us_app_to_person.list(limit=limit)
        return [_campaign(c) for c in found]

    def fetch_campaign(self, service_sid: str, sid: str) -> Campaign:
        with translated():
            return _campaign(self._messaging.services(service_sid).us_app_to_person(sid).fetch())

    def create_campaign(
        self,
        service_sid: str,
        brand_sid: str,
        *,
        use_case: str,
        description: str,
        message_flow: str,
        message_samples: Sequence[str],
        has_embedded_links: bool,
        has_embedded_phone: bool,
        help_message: str,
        opt_out_message: str,
        opt_in_message: str,
        help_keywords: Sequence[str],
        opt_out_keywords: Sequence[str],
        opt_in_keywords: Sequence[str],
        privacy_policy_url: str,
        terms_and_conditions_url: str,
    ) -> Campaign:
        """Registers the office's campaign on its Messaging Service. This costs money (registration/fees.py)."""
        with translated():
            campaign = self._messaging.services(service_sid).us_app_to_person.create(
                brand_registration_sid=brand_sid,
                description=description,
                message_flow=message_flow,
                message_samples=list(message_samples),
                us_app_to_person_usecase=use_case,
                has_embedded_links=has_embedded_links,
                has_embedded_phone=has_embedded_phone,
                help_message=help_message,
                opt_out_message=opt_out_message,
                opt_in_message=opt_in_message,
                help_keywords=list(help_keywords),
                opt_out_keywords=list(opt_out_keywords),
                opt_in_keywords=list(opt_in_keywords),
                privacy_policy_url=privacy_policy_url,
                terms_and_conditions_url=terms_and_conditions_url,
            )
        return _campaign(campaign)

    # --- toll-free verification -----------------------------------------------------------------------------------

    def list_tollfree_verifications(
        self, *, phone_number_sid: str | None = None, limit: int = 50
    ) -> list[TollfreeVerification]:
        with translated():
            found = self._messaging.tollfree_verifications.list(tollfree_phone_number_sid=phone_number_sid, limit=limit)
        return [_tollfree(v) for v in found]

    def create_tollfree_verification(self, phone_number_sid: str, details: dict[str, Any]) -> TollfreeVerification:
        """`details`: the SDK's create arguments besides the number (registration/tollfree.py builds them)."""
        with translated():
            verification = self._messaging.tollfree_verifications.create(
                tollfree_phone_number_sid=phone_number_sid, **details
            )
        return _tollfree(verification)

    def fetch_tollfree_verification(self, sid: str) -> TollfreeVerification:
        with translated():
            return _tollfree(self._messaging.tollfree_verifications(sid).fetch())

    def update_tollfree_verification(self, sid: str, details: dict[str, Any]) -> TollfreeVerification:
        """Edit and resubmit a rejected verification (Twilio allows it while `edit_allowed`)."""
        with translated():
            return _tollfree(self._messaging.tollfree_verifications(sid).update(**details))


def _service(s: Any) -> MessagingService:
    return MessagingService(
        sid=str(s.sid),
        friendly_name=str(s.friendly_name or ""),
        inbound_request_url=s.inbound_request_url or None,
        inbound_method=s.inbound_method or None,
        status_callback=s.status_callback or None,
        sticky_sender=bool(s.sticky_sender),
        use_inbound_webhook_on_number=bool(s.use_inbound_webhook_on_number),
        us_app_to_person_registered=bool(s.us_app_to_person_registered),
    )


def _items(value: Any) -> list[dict[str, Any]]:
    return [item for item in value or [] if isinstance(item, dict)]


def _bundle(b: Any) -> Bundle:
    return Bundle(
        sid=str(b.sid),
        friendly_name=str(b.friendly_name or ""),
        policy_sid=str(b.policy_sid or ""),
        status=str(b.status or ""),
        errors=_items(b.errors),
    )


def _brand(b: Any) -> Brand:
    return Brand(
        sid=str(b.sid),
        status=str(b.status or ""),
        customer_profile_bundle_sid=str(b.customer_profile_bundle_sid or ""),
        a2p_profile_bundle_sid=str(b.a2p_profile_bundle_sid or ""),
        brand_type=str(b.brand_type or ""),
        failure_reason=b.failure_reason or None,
        errors=_items(b.errors),
    )


def _campaign(c: Any) -> Campaign:
    return Campaign(
        sid=str(c.sid),
        status=str(c.campaign_status or ""),
        brand_registration_sid=str(c.brand_registration_sid or ""),
        messaging_service_sid=str(c.messaging_service_sid or ""),
        use_case=str(c.us_app_to_person_usecase or ""),
        errors=_items(c.errors),
    )


def _tollfree(v: Any) -> TollfreeVerification:
    return TollfreeVerification(
        sid=str(v.sid),
        status=str(v.status or ""),
        phone_number=str(v.tollfree_phone_number or ""),
        phone_number_sid=str(v.tollfree_phone_number_sid or ""),
        rejection_reason=v.rejection_reason or None,
        error_code=as_int(v.error_code),
        edit_allowed=bool(v.edit_allowed),
        rejection_reasons=_items(v.rejection_reasons),
    )
