"""What a Twilio account holds while a flow runs through Prism, which keeps no state and answers every request
with its spec's example: `PrismAccount` turns those answers into what Twilio would have said.

Each method is named after the gateway operation it answers and takes Prism's answer (None when Prism refused
the request for one of its known defects) and the operation's arguments. Lists hold what the flow created, and
nothing before (the example lists are someone else's); created resources get SIDs of their own; reviews move
only when the test says so, by replacing `bundles`, `brand`, `campaign` or `tollfree` with the verdict.
Operations without a method answer Prism's example as it is.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from typing import Any

from clinic_reminders.gateways import (
    Assignment,
    AvailableNumber,
    Brand,
    Bundle,
    BundleKind,
    Campaign,
    Evaluation,
    IncomingNumber,
    MessagingService,
    ServiceSender,
    TollfreeVerification,
)
from clinic_reminders.registration.a2p import PRIMARY_POLICY_SID

# The ISV's own customer profile, approved in Twilio's console once for all its offices.
PRIMARY_PROFILE = Bundle("BU" + "0" * 32, "ISV primary customer profile", PRIMARY_POLICY_SID, "twilio-approved")


@dataclass
class PrismAccount:
    numbers: list[IncomingNumber] = field(default_factory=list)
    services: dict[str, MessagingService] = field(default_factory=dict)
    senders: dict[str, list[ServiceSender]] = field(default_factory=dict)
    bundles: dict[BundleKind, Bundle] = field(default_factory=dict)
    assignments: dict[str, list[Assignment]] = field(default_factory=dict)
    brand: Brand | None = None
    campaign: Campaign | None = None
    tollfree: TollfreeVerification | None = None
    _serial: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_sid(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial):032x}"

    def own(self, phone_number: str) -> IncomingNumber:
        """A number the account bought elsewhere (in Twilio's console)."""
        number = IncomingNumber(self.new_sid("PN"), phone_number, phone_number, None, None, None, None, True, True)
        self.numbers.append(number)
        return number

    # --- numbers ------------------------------------------------------------------------------------------------

    def list_incoming_numbers(self, answer: list[IncomingNumber], **_: Any) -> list[IncomingNumber]:
        return list(self.numbers)

    def search_available_numbers(self, answer: list[AvailableNumber], **_: Any) -> list[AvailableNumber]:
        return [replace(n, sms_capable=True) for n in answer]

    def buy_number(self, answer: IncomingNumber, phone_number: str, **_: Any) -> IncomingNumber:
        """The number asked for; its webhook URLs stay the example's, so the webhooks step puts them right."""
        bought = replace(answer, phone_number=phone_number, sms_capable=True)
        self.numbers.append(bought)
        return bought

    def update_number_webhooks(self, answer: IncomingNumber, number_sid: str, **urls: str | None) -> IncomingNumber:
        index = next(i for i, n in enumerate(self.numbers) if n.sid == number_sid)
        self.numbers[index] = replace(self.numbers[index], **_given(urls))
        return self.numbers[index]

    # --- Messaging Services -------------------------------------------------------------------------------------

    def list_services(self, answer: list[MessagingService], **_: Any) -> list[MessagingService]:
        return list(self.services.values())

    def create_service(self, answer: MessagingService, friendly_name: str, **settings: Any) -> MessagingService:
        made = replace(answer, sid=self.new_sid("MG"), friendly_name=friendly_name, **_given(settings))
        self.services[made.sid] = made
        return made

    def fetch_service(self, answer: MessagingService, service_sid: str) -> MessagingService:
        return self.services[service_sid]

    def update_service(self, answer: MessagingService, service_sid: str, **settings: Any) -> MessagingService:
        self.services[service_sid] = replace(self.services[service_sid], **_given(settings))
        return self.services[service_sid]

    def list_service_senders(self, answer: list[ServiceSender], service_sid: str, **_: Any) -> list[ServiceSender]:
        return list(self.senders.get(service_sid, []))

    def add_service_sender(self, answer: ServiceSender, service_sid: str, number_sid: str) -> ServiceSender:
        number = next(n for n in self.numbers if n.sid == number_sid)
        sender = ServiceSender(number_sid, number.phone_number)
        self.senders.setdefault(service_sid, []).append(sender)
        return sender

    # --- Trust Hub ----------------------------------------------------------------------------------------------

    def list_bundles(self, answer: list[Bundle], kind: BundleKind, **query: Any) -> list[Bundle]:
        if query.get("policy_sid") == PRIMARY_POLICY_SID:
            return [PRIMARY_PROFILE]
        return [b for k, b in self.bundles.items() if k is kind]

    def create_bundle(
        self, answer: Bundle, kind: BundleKind, friendly_name: str, email: str, policy_sid: str, **_: Any
    ) -> Bundle:
        made = replace(answer, sid=self.new_sid("BU"), friendly_name=friendly_name, policy_sid=policy_sid)
        self.bundles[kind] = replace(made, status="draft", errors=[])
        return self.bundles[kind]

    def fetch_bundle(self, answer: Bundle, kind: BundleKind, bundle_sid: str) -> Bundle:
        return self.bundles[kind]

    def submit_bundle(self, answer: Bundle, kind: BundleKind, bundle_sid: str) -> Bundle:
        self.bundles[kind] = replace(self.bundles[kind], status="pending-review", errors=[])
        return self.bundles[kind]

    def assign(self, answer: Assignment, kind: BundleKind, bundle_sid: str, object_sid: str) -> Assignment:
        made = Assignment(self.new_sid("BV"), object_sid)
        self.assignments.setdefault(bundle_sid, []).append(made)
        return made

    def list_assignments(
        self, answer: list[Assignment], kind: BundleKind, bundle_sid: str, **_: Any
    ) -> list[Assignment]:
        return list(self.assignments.get(bundle_sid, []))

    def evaluate(self, answer: Evaluation, *_: Any) -> Evaluation:
        return replace(answer, status="compliant", results=[])

    def create_end_user(self, answer: str, *_: Any) -> str:
        return self.new_sid(answer[:2])

    def create_supporting_document(self, answer: str, *_: Any) -> str:
        return self.new_sid(answer[:2])

    def create_address(self, answer: str, *_: Any, **__: Any) -> str:
        return self.new_sid(answer[:2])

    # --- brands and campaigns -----------------------------------------------------------------------------------

    def list_brands(self, answer: list[Brand], **_: Any) -> list[Brand]:
        return [self.brand] if self.brand else []

    def create_brand(self, answer: Brand, customer_profile_sid: str, trust_product_sid: str, **_: Any) -> Brand:
        self.brand = replace(
            answer,
            sid=self.new_sid("BN"),
            status="PENDING",
            customer_profile_bundle_sid=customer_profile_sid,
            a2p_profile_bundle_sid=trust_product_sid,
            failure_reason=None,
            errors=[],
        )
        return self.brand

    def fetch_brand(self, answer: Brand, brand_sid: str) -> Brand | None:
        return self.brand

    def resubmit_brand(self, answer: Brand, brand_sid: str) -> Brand:
        assert self.brand is not None
        self.brand = replace(self.brand, status="IN_REVIEW", failure_reason=None, errors=[])
        return self.brand

    def list_campaigns(self, answer: list[Campaign], service_sid: str, **_: Any) -> list[Campaign]:
        return [c for c in [self.campaign] if c is not None and c.messaging_service_sid == service_sid]

    def create_campaign(self, answer: None, service_sid: str, brand_sid: str, *, use_case: str, **_: Any) -> Campaign:
        """Prism refuses every campaign (the array defect): what Twilio answers."""
        self.campaign = Campaign(self.new_sid("QE"), "IN_PROGRESS", brand_sid, service_sid, use_case)
        return self.campaign

    def fetch_campaign(self, answer: Campaign, service_sid: str, campaign_sid: str) -> Campaign | None:
        return self.campaign

    # --- toll-free verification ---------------------------------------------------------------------------------

    def list_tollfree_verifications(
        self, answer: list[TollfreeVerification], *, phone_number_sid: str | None = None, **_: Any
    ) -> list[TollfreeVerification]:
        found = self.tollfree
        return [found] if found is not None and found.phone_number_sid == phone_number_sid else []

    def create_tollfree_verification(
        self, answer: None, phone_number_sid: str, details: dict[str, Any]
    ) -> TollfreeVerification:
        """Prism refuses every verification request (the array defects): what Twilio answers."""
        number = next(n for n in self.numbers if n.sid == phone_number_sid)
        self.tollfree = TollfreeVerification(
            self.new_sid("HH"), "PENDING_REVIEW", number.phone_number, phone_number_sid, None, None, False
        )
        return self.tollfree

    def fetch_tollfree_verification(self, answer: TollfreeVerification, sid: str) -> TollfreeVerification | None:
        return self.tollfree

    def update_tollfree_verification(self, answer: None, sid: str, details: dict[str, Any]) -> TollfreeVerification:
        assert self.tollfree is not None
        self.tollfree = replace(
            self.tollfree, status="IN_REVIEW", rejection_reason=None, rejection_reasons=[], edit_allowed=False
        )
        return self.tollfree


def _given(values: dict[str, Any]) -> dict[str, Any]:
    """The arguments set (None leaves a setting as it is)."""
    return {k: v for k, v in values.items() if v is not None}
