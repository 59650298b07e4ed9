"""The whole set-up and carrier registration through Stoplight Prism mocking Twilio's specs, with requests the
specs accept: `reminders setup twilio` (Provisioner), `--register` (Registrar) and the running service's refresh
(registration/sync.py), from an empty account to an approved campaign and toll-free verification, a rejected
brand and verification corrected on the way. The flow calls every operation the registration conformance tests
check one by one; a request that breaks the spec anywhere in it fails the test (prism_support)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from pathlib import Path
from types import ModuleType
from typing import Any, cast

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from clinic_reminders.db import make_engine, make_sessionmaker, transaction
from clinic_reminders.doctor.provision import Provisioner
from clinic_reminders.doctor.register import Registrar
from clinic_reminders.gateways import TwilioGateway
from clinic_reminders.migrations import upgrade
from clinic_reminders.models import BusinessProfile, Clinic, Office, Registration
from clinic_reminders.registration import a2p, fees, sync, tollfree
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY
from tests.factories import make_business_profile
from tests.integration.doctor_support import make_office_with_clinics
from tests.integration.prism_support import TOKEN, ConformingGateway
from tests.integration.test_conformance_registration import OPERATIONS

TOLL_FREE = "+18335550123"
PUBLIC = "https://clinic.example.com:8443"


class Flow:
    """One office on an empty Twilio account (Prism's), its set-up, registration and refresh; `operations()` says
    what each step called of Twilio."""

    def __init__(self, prism_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        url = f"sqlite:///{tmp_path / 'prism.db'}"  # the database does not matter here: Prism keeps no state
        upgrade(url)
        self.engine = make_engine(url)
        self.sessions = make_sessionmaker(self.engine)
        with self.sessions() as db:
            office = make_office_with_clinics(db)
            make_business_profile(db, office)
            db.commit()
            self.office_id = office.id
        self.twilio = ConformingGateway(prism_urls, monkeypatch)
        self.account = self.twilio.account
        self.settings = Settings(database_url="sqlite://", secret_key=TEST_SECRET_KEY, public_url=PUBLIC)
        self.fees_asked: list[list[fees.Fee]] = []
        self._seen = 0

    @property
    def gateway(self) -> TwilioGateway:
        return cast(TwilioGateway, self.twilio)

    def db(self) -> AbstractContextManager[Session]:
        return transaction(self.sessions)

    def operations(self) -> list[str]:
        """Twilio operations called since the last look."""
        called, self._seen = self.twilio.calls[self._seen :], len(self.twilio.calls)
        return called

    def provision(self) -> dict[str, str]:
        steps = Provisioner(self.settings, self.sessions, self.gateway, auth_token=TOKEN).run(area_code=415)
        return {s.id: s.status for s in steps}

    def register(self) -> dict[str, str]:
        def accept(costs: list[fees.Fee]) -> bool:
            self.fees_asked.append(costs)
            return True

        steps = Registrar(self.settings, self.sessions, self.gateway, confirm=accept).run()
        return {s.id: s.status for s in steps}

    def refresh(self) -> set[tuple[str, str, str]]:
        changes = sync.refresh(self.settings, self.sessions, self.gateway, self.office_id)
        return {(c.kind, c.old_state, c.new_state) for c in changes}

    def states(self) -> dict[str, str]:
        with self.db() as db:
            return {r.kind: r.state for r in db.scalars(select(Registration).order_by(Registration.id))}

    def toll_free_clinic(self) -> None:
        """The second clinic texts from its own toll-free number, which the office bought in Twilio's console."""
        self.account.own(TOLL_FREE)
        with self.db() as db:
            db.scalars(select(Clinic).where(Clinic.name == "Clinic 2")).one().twilio_number = TOLL_FREE


@pytest.fixture
def flow(prism_urls: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Flow]:
    flow = Flow(prism_urls, monkeypatch, tmp_path)
    yield flow
    flow.engine.dispose()


SETUP_ON_AN_EMPTY_ACCOUNT = [
    "fetch_account",
    "list_incoming_numbers",
    "search_available_numbers",
    "buy_number",
    "list_incoming_numbers",
    "update_number_webhooks",
    "list_incoming_numbers",
    "list_services",
    "create_service",
    "list_service_senders",
    "add_service_sender",
    "list_caller_ids",
    "list_incoming_numbers",
    "start_caller_id_verification",
    "start_caller_id_verification",
    "create_api_key",
]
FIRST_REGISTRATION = [
    "list_customer_profiles",  # the office's own: none yet
    "create_customer_profile",
    "list_customer_profiles",  # the ISV's primary profile, approved
    "create_end_user",  # business information
    "create_end_user",  # authorized representative
    "create_address",
    "create_supporting_document",
    "list_customer_profile_assignments",
    *["assign_to_customer_profile"] * 4,  # the end users, the address document, the primary profile
    "evaluate_customer_profile",
    "submit_customer_profile",
    "list_trust_products",
    "create_trust_product",
    "create_end_user",  # messaging profile
    "list_trust_product_assignments",
    *["assign_to_trust_product"] * 2,  # the messaging profile, the customer profile
    "evaluate_trust_product",
    "submit_trust_product",
    "list_brands",
    "create_brand",  # the fees accepted; the campaign waits for the brand's approval
    "list_incoming_numbers",
    "list_tollfree_verifications",
    "create_tollfree_verification",
]
READ_REGISTRATIONS = ["fetch_customer_profile", "fetch_trust_product", "fetch_brand", "fetch_tollfree_verification"]


@pytest.mark.prism
def test_it_sets_up_and_registers_an_office_through_prism_with_requests_the_spec_accepts(flow: Flow) -> None:
    account = flow.account
    assert flow.provision() == {
        "credentials": "done",
        "number": "done",
        "webhooks": "done",
        "messaging_service": "done",
        "caller_ids": "action_needed",  # Twilio calls the clinics' phones
        "api_key": "done",
    }
    assert flow.operations() == SETUP_ON_AN_EMPTY_ACCOUNT

    flow.toll_free_clinic()
    assert flow.register() == {
        "customer_profile": "done",
        "trust_product": "done",
        "brand": "done",
        "campaign": "unchanged",
        "tollfree": "done",
    }
    assert flow.operations() == FIRST_REGISTRATION
    assert flow.fees_asked == [fees.a2p_fees(low_volume=True)]  # asked before the brand was created

    # Twilio's verdicts: the bundles approved, the brand failed (the EIN), the verification rejected (editable)
    assert account.brand is not None and account.tollfree is not None
    account.bundles = {kind: replace(b, status="twilio-approved") for kind, b in account.bundles.items()}
    account.brand = replace(account.brand, status="FAILED", failure_reason="The EIN could not be verified")
    rejected = [{"code": 30513, "description": "The opt-in is unclear"}]
    account.tollfree = replace(
        account.tollfree, status="TWILIO_REJECTED", edit_allowed=True, rejection_reasons=rejected
    )
    assert flow.refresh() == {
        ("customer_profile", "pending", "approved"),
        ("trust_product", "pending", "approved"),
        ("brand", "pending", "failed"),
        ("tollfree", "pending", "failed"),
    }
    assert flow.operations() == READ_REGISTRATIONS  # no campaign for a failed brand

    # The office corrects its EIN; someone changed the Messaging Service's incoming URL in Twilio's console
    with flow.db() as db:
        profile = db.scalars(select(BusinessProfile)).one()
        profile.ein = "98-7654321"
        profile.consent_flow += " Patients tick a box that says they agree to texts."
        office = db.scalars(select(Office)).one()
        service_sid, office_number = office.twilio_messaging_service_sid or "", office.twilio_phone_number
    account.services[service_sid] = replace(account.services[service_sid], inbound_request_url="https://old.example")
    assert flow.provision() == {
        "credentials": "unchanged",
        "number": "unchanged",
        "webhooks": "unchanged",
        "messaging_service": "done",  # corrected, and the toll-free number added as a sender
        "caller_ids": "action_needed",
        "api_key": "unchanged",  # the stored key still works (its probe is a request checked too)
    }
    assert flow.operations() == [
        "fetch_account",
        "list_incoming_numbers",
        "list_incoming_numbers",
        "list_incoming_numbers",
        "fetch_service",
        "update_service",
        "list_service_senders",
        "add_service_sender",
        "list_caller_ids",
        "list_incoming_numbers",
        "start_caller_id_verification",
        "start_caller_id_verification",
    ]
    assert [s.phone_number for s in account.senders[service_sid]] == [office_number, TOLL_FREE]
    assert flow.register() == {
        "customer_profile": "done",
        "trust_product": "done",
        "brand": "done",
        "campaign": "unchanged",
        "tollfree": "done",
    }
    assert flow.operations() == [
        "fetch_customer_profile",  # approved, but the profile changed since: the same bundle updated
        "update_end_user",
        "update_end_user",
        "update_address",
        "list_customer_profile_assignments",  # all assigned already
        "evaluate_customer_profile",
        "submit_customer_profile",
        "fetch_trust_product",
        "update_end_user",
        "list_trust_product_assignments",
        "evaluate_trust_product",
        "submit_trust_product",
        "fetch_brand",
        "resubmit_brand",
        "list_incoming_numbers",
        "fetch_tollfree_verification",
        "update_tollfree_verification",
    ]
    assert flow.fees_asked[1:] == [[fees.BRAND]]

    # Twilio approves everything: the refresh submits the campaign by itself, then sees it verified
    account.bundles = {kind: replace(b, status="twilio-approved") for kind, b in account.bundles.items()}
    account.brand = replace(account.brand, status="APPROVED")
    account.tollfree = replace(account.tollfree, status="TWILIO_APPROVED")
    assert flow.refresh() == {
        ("customer_profile", "pending", "approved"),
        ("trust_product", "pending", "approved"),
        ("brand", "pending", "approved"),
        ("tollfree", "pending", "approved"),
        ("campaign", "draft", "pending"),
    }
    assert flow.operations() == [*READ_REGISTRATIONS, "list_campaigns", "list_use_cases", "create_campaign"]
    assert account.campaign is not None and account.campaign.use_case == "ACCOUNT_NOTIFICATION"
    account.campaign = replace(account.campaign, status="VERIFIED")
    assert flow.refresh() == {("campaign", "pending", "approved")}
    assert flow.operations() == [*READ_REGISTRATIONS, "fetch_campaign"]

    assert set(flow.states().values()) == {"approved"}
    assert set(OPERATIONS) - set(flow.twilio.calls) == set()  # every registration operation, in one flow
    assert flow.twilio.check.refusals == []


@pytest.mark.prism
@pytest.mark.parametrize(
    ("module", "name", "wrong", "failure"),
    [
        # Prism's own verdict: the ISV's primary profile listed by a policy SID of the wrong pattern
        (a2p, "PRIMARY_POLICY_SID", "RN-not-a-policy", r"list_customer_profiles: Prism refused GET /v1/Customer"),
        # where Prism cannot judge (its array defect), the spec's schema: a use case category it does not list
        (tollfree, "USE_CASES", ["APPOINTMENTS"], r"create_tollfree_verification: .*form breaks the spec"),
    ],
    ids=["refused-by-prism", "refused-by-the-schema"],
)
def test_the_flow_fails_on_a_request_that_breaks_the_spec(
    flow: Flow, monkeypatch: pytest.MonkeyPatch, module: ModuleType, name: str, wrong: Any, failure: str
) -> None:
    flow.provision()
    flow.toll_free_clinic()
    monkeypatch.setattr(module, name, wrong)
    with pytest.raises(AssertionError, match=failure):
        flow.register()
