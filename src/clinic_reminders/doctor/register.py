"""`reminders setup twilio --register` (and the set-up page's API): US carrier registration from the office's
business profile, as Twilio's ISV onboarding asks (registration/a2p.py) for a local number, a toll-free
verification for a toll-free number.

Idempotent: every SID is saved in the office's Registration rows (and their `parts`) as soon as Twilio returns it,
existing resources are adopted (by the saved SID, else by what Twilio lists), so a re-run continues where the last
stopped and never creates a second profile, brand or campaign. A profile with problems is refused before any
request. The brand and the campaign cost money: nothing is submitted without `confirm(fees)` saying yes, and that
confirmation also covers the campaign the running service submits by itself once the brand is approved.
A rejected brand or verification is resubmitted (the same resource) once the profile has changed since it was
submitted: `parts["profile_digest"]` keeps a digest of what was sent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ..accounts import the_office
from ..db import transaction
from ..effective import alert_config, twilio_config
from ..gateways import Brand, BundleKind, TwilioError, TwilioGateway
from ..models import BusinessProfile, Office, Registration, RegistrationKind, RegistrationState
from ..registration import a2p, campaign, fees, problems, rows, tollfree
from ..registration.profile import LABELS
from ..registration.profile import problems as profile_problems
from ..registration.samples import campaign_texts
from ..registration.senders import SenderKind, sender_kind
from ..settings import Settings
from .messaging_service import sending_numbers
from .steps import Step, twilio_failed

Confirm = Callable[[list[fees.Fee]], bool]
DIGEST = "profile_digest"
IN_REVIEW = ("pending-review", "in-review")
K = RegistrationKind


def digest(profile: BusinessProfile) -> str:
    """What registration submits of the profile, as a short fingerprint (to see that it was corrected)."""
    sent = [a2p.business_information(profile), a2p.representative(profile), a2p.address(profile)]
    sent += [a2p.messaging_profile(profile), {"terms": profile.terms_url, "privacy": profile.privacy_policy_url}]
    sent += [{"consent": profile.consent_flow, "type": profile.opt_in_type, "url": profile.opt_in_url}]
    return hashlib.sha256(json.dumps(sent, sort_keys=True).encode()).hexdigest()[:16]


class Registrar:
    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        gateway: TwilioGateway,
        *,
        office_id: int | None = None,
        confirm: Confirm | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.gateway = gateway
        self.api = gateway.registration
        self.office_id = office_id
        self.confirm = confirm or (lambda _fees: False)
        self.notify = ""  # where Twilio mails about the bundles: the office's alert address, else its contact

    @contextmanager
    def _db(self) -> Iterator[tuple[Session, Office]]:
        with transaction(self.sessions) as db:
            office = db.get(Office, self.office_id) if self.office_id is not None else None
            yield db, office or the_office(db)

    def _row(self, kind: RegistrationKind, subject: str = "") -> Registration:
        with self._db() as (db, office):
            return rows.get_or_create(db, office.id, kind, subject)

    def _update(self, row: Registration, change: Callable[[Registration], Any], *, sent: str = "") -> Registration:
        """Apply `change` to the stored row and commit at once (a SID Twilio returned is never lost); `sent`: the
        digest of the profile just submitted."""
        with self._db() as (db, _office):
            stored = db.get(Registration, row.id)
            assert stored is not None
            change(stored)
            if sent:
                rows.save_part(stored, DIGEST, sent)
            return stored

    # --- the run ------------------------------------------------------------------------------------------------

    def run(self) -> list[Step]:
        with self._db() as (db, office):
            profile = db.scalar(select(BusinessProfile).where(BusinessProfile.office_id == office.id))
            config = twilio_config(self.settings, office)
            senders = sending_numbers(db, self.settings, office)
            notify = (alert_config(self.settings, office).email or "").split(",")[0].strip()
        local = [n for n in senders if sender_kind(n) is SenderKind.LOCAL]
        toll_free = [n for n in senders if sender_kind(n) is SenderKind.TOLL_FREE]
        if not local and not toll_free:
            return [Step("registration", "unchanged", "no US local or toll-free sender: nothing to register")]
        missing = profile_problems(profile, tollfree=bool(toll_free))
        if missing or profile is None:
            listed = "; ".join(f"{LABELS.get(name, name)}: {why}" for name, why in missing.items())
            return [
                Step(
                    "registration",
                    "failed",
                    f"the business profile is not ready, nothing was sent to Twilio: {listed}",
                    {"problems": missing},
                )
            ]
        self.notify = notify or profile.contact_email
        steps: list[Step] = []
        if local:
            steps += self._a2p(profile, config.messaging_service_sid)
        for number in toll_free:
            steps.append(self._guarded("tollfree", f"verify {number}", _bound(self.tollfree, profile, number)))
        return steps

    def _guarded(self, step_id: str, doing: str, run: Callable[[], Step]) -> Step:
        try:
            return run()
        except TwilioError as exc:
            return twilio_failed(step_id, exc, doing)

    def _a2p(self, profile: BusinessProfile, service_sid: str | None) -> list[Step]:
        if not service_sid:
            return [Step("brand", "failed", "no Messaging Service yet: run `reminders setup twilio` first")]
        steps = [
            self._guarded("customer_profile", "submit the customer profile", _bound(self.customer_profile, profile))
        ]
        if steps[-1].status == "failed":
            return steps
        steps.append(
            self._guarded("trust_product", "submit the A2P trust product", _bound(self.trust_product, profile))
        )
        if steps[-1].status == "failed":
            return steps
        steps.append(self._guarded("brand", "register the brand", lambda: self.brand(profile)))
        if steps[-1].status in ("failed", "action_needed"):
            return steps
        steps.append(self._guarded("campaign", "register the campaign", lambda: self.campaign(profile, service_sid)))
        return steps

    # --- Trust Hub ----------------------------------------------------------------------------------------------

    def _bundle(self, kind: RegistrationKind, bundle_kind: BundleKind, policy_sid: str, name: str) -> Registration:
        """The office's bundle: the saved one, else the one of that name Twilio lists, else a new one."""
        row = self._row(kind)
        if row.twilio_sid is None:
            listed = self.api.list_bundles(bundle_kind, policy_sid=policy_sid)
            found = next((b for b in listed if b.friendly_name == name), None)
            bundle = found or self.api.create_bundle(bundle_kind, name, self.notify, policy_sid)
            row = self._update(row, lambda r: rows.record(r, bundle.status, sid=bundle.sid))
        return row

    def _part(self, row: Registration, name: str, create: Callable[[], str], update: Callable[[str], None]) -> str:
        existing = (row.parts or {}).get(name)
        if existing:
            update(existing)
            return existing
        made = create()
        self._update(row, lambda r: rows.save_part(r, name, made))
        row.parts = {**(row.parts or {}), name: made}
        return made

    def _assign_and_submit(
        self, row: Registration, kind: BundleKind, policy_sid: str, objects: list[str], profile: BusinessProfile
    ) -> Step:
        assert row.twilio_sid is not None
        assigned = {a.object_sid for a in self.api.list_assignments(kind, row.twilio_sid)}
        for object_sid in objects:
            if object_sid not in assigned:
                self.api.assign(kind, row.twilio_sid, object_sid)
        evaluation = self.api.evaluate(kind, row.twilio_sid, policy_sid)
        if not evaluation.compliant:
            found = problems.from_evaluation(evaluation.results)
            self._update(row, lambda r: setattr(r, "problems", found))
            return Step(row.kind, "failed", f"Twilio's check found: {problems.summary(found)}", {"problems": found})
        bundle = self.api.submit_bundle(kind, row.twilio_sid)
        current = digest(profile)
        self._update(row, lambda r: rows.record(r, bundle.status, submitted=True), sent=current)
        return Step(row.kind, "done", f"{row.twilio_sid} submitted for Twilio's review", {"sid": row.twilio_sid})

    def _settled(self, row: Registration, kind: BundleKind, profile: BusinessProfile) -> Step | None:
        """A bundle in review, or submitted and unchanged since: nothing to do (its state recorded)."""
        assert row.twilio_sid is not None
        bundle = self.api.fetch_bundle(kind, row.twilio_sid)
        self._update(row, lambda r: rows.record(r, bundle.status, problems.from_errors(bundle.errors)))
        unchanged = (row.parts or {}).get(DIGEST) == digest(profile)
        if bundle.status in IN_REVIEW or (bundle.status == "twilio-approved" and unchanged):
            return Step(row.kind, "unchanged", f"{row.twilio_sid} is {bundle.status}", {"sid": row.twilio_sid})
        if bundle.status == "twilio-rejected" and unchanged:
            found = problems.from_errors(bundle.errors)
            return Step(row.kind, "failed", f"rejected: {problems.summary(found)}; correct the business profile")
        return None

    def customer_profile(self, profile: BusinessProfile) -> Step:
        name = a2p.friendly_name(profile, "secondary customer profile")
        row = self._bundle(K.CUSTOMER_PROFILE, BundleKind.CUSTOMER_PROFILE, a2p.PROFILE_POLICY_SID, name)
        if row.twilio_status != "draft" and (settled := self._settled(row, BundleKind.CUSTOMER_PROFILE, profile)):
            return settled
        primary = (row.parts or {}).get(a2p.PRIMARY_PROFILE) or next(
            (
                b.sid
                for b in self.api.list_bundles(
                    BundleKind.CUSTOMER_PROFILE, policy_sid=a2p.PRIMARY_POLICY_SID, status="twilio-approved"
                )
            ),
            None,
        )
        if primary is None:
            return Step(
                "customer_profile",
                "failed",
                "this Twilio account has no approved primary customer profile: create it once at console.twilio.com "
                "→ Trust Hub → Customer Profiles (business type 'ISV Reseller or Partner'), then run again",
            )
        self._update(row, lambda r: rows.save_part(r, a2p.PRIMARY_PROFILE, primary))
        info = a2p.business_information(profile)
        person = a2p.representative(profile)
        place = a2p.address(profile)
        business = self._part(
            row,
            a2p.BUSINESS_INFORMATION,
            lambda: self.api.create_end_user(
                a2p.friendly_name(profile, "business"), "customer_profile_business_information", info
            ),
            lambda sid: self.api.update_end_user(sid, info),
        )
        representative = self._part(
            row,
            a2p.REPRESENTATIVE,
            lambda: self.api.create_end_user(a2p.friendly_name(profile, "representative"), a2p.REPRESENTATIVE, person),
            lambda sid: self.api.update_end_user(sid, person),
        )
        address = self._part(
            row,
            a2p.ADDRESS,
            lambda: self.api.create_address(a2p.friendly_name(profile, "address"), iso_country="US", **place),
            lambda sid: self.api.update_address(sid, **place),
        )
        document = self._part(
            row,
            a2p.ADDRESS_DOCUMENT,
            lambda: self.api.create_supporting_document(
                a2p.friendly_name(profile, "address"), "customer_profile_address", {"address_sids": address}
            ),
            lambda _sid: None,
        )
        objects = [business, representative, document, primary]
        return self._assign_and_submit(row, BundleKind.CUSTOMER_PROFILE, a2p.PROFILE_POLICY_SID, objects, profile)

    def trust_product(self, profile: BusinessProfile) -> Step:
        customer_profile = self._row(K.CUSTOMER_PROFILE).twilio_sid
        assert customer_profile is not None
        name = a2p.friendly_name(profile, "A2P trust product")
        row = self._bundle(K.TRUST_PRODUCT, BundleKind.TRUST_PRODUCT, a2p.A2P_POLICY_SID, name)
        if row.twilio_status != "draft" and (settled := self._settled(row, BundleKind.TRUST_PRODUCT, profile)):
            return settled
        attributes = a2p.messaging_profile(profile)
        end_user = self._part(
            row,
            a2p.MESSAGING_PROFILE,
            lambda: self.api.create_end_user(
                a2p.friendly_name(profile, "messaging profile"), "us_a2p_messaging_profile_information", attributes
            ),
            lambda sid: self.api.update_end_user(sid, attributes),
        )
        objects = [end_user, customer_profile]
        return self._assign_and_submit(row, BundleKind.TRUST_PRODUCT, a2p.A2P_POLICY_SID, objects, profile)

    # --- brand and campaign -------------------------------------------------------------------------------------

    def brand(self, profile: BusinessProfile) -> Step:
        customer_profile, trust_product = self._row(K.CUSTOMER_PROFILE), self._row(K.TRUST_PRODUCT)
        row = self._row(K.BRAND)
        found: Brand | None = None
        if row.twilio_sid:
            found = self.api.fetch_brand(row.twilio_sid)
        else:
            mine = [b for b in self.api.list_brands() if b.customer_profile_bundle_sid == customer_profile.twilio_sid]
            found = mine[0] if mine else None
        low_volume = a2p.low_volume(profile)
        current = digest(profile)
        if found is None:
            costs = fees.a2p_fees(low_volume=low_volume)
            if not self.confirm(costs):
                return Step(
                    "brand",
                    "action_needed",
                    f"registering the brand and then its campaign costs: {fees.described(costs)}; confirm to go on "
                    "(answer yes, or --yes)",
                    {"fees": [{"what": f.what, "amount": f.amount} for f in costs]},
                )
            assert customer_profile.twilio_sid and trust_product.twilio_sid
            found = self.api.create_brand(
                customer_profile.twilio_sid, trust_product.twilio_sid, skip_automatic_secondary_vetting=low_volume
            )
            made = found
            self._update(row, lambda r: self._record_brand(r, made), sent=current)
            return Step("brand", "done", f"brand {found.sid} submitted to The Campaign Registry", {"sid": found.sid})
        brand = found
        row = self._update(row, lambda r: self._record_brand(r, brand))
        if row.state != RegistrationState.FAILED:
            return Step("brand", "unchanged", f"brand {brand.sid} is {brand.status}", {"sid": brand.sid})
        if (row.parts or {}).get(DIGEST) == current:
            found_problems = _brand_problems(brand)
            return Step(
                "brand",
                "failed",
                f"brand {brand.sid} was rejected: {problems.summary(found_problems)}; correct the business profile, "
                "then run again",
                {"problems": found_problems},
            )
        if not self.confirm([fees.BRAND]):
            return Step(
                "brand",
                "action_needed",
                f"resubmit brand {brand.sid} with the corrected profile? Twilio lists the brand fee as "
                f"{fees.BRAND.amount} ({fees.SOURCE}; see {fees.CURRENT} for whether a resubmission is charged)",
            )
        resubmitted = self.api.resubmit_brand(brand.sid)
        self._update(row, lambda r: self._record_brand(r, resubmitted), sent=current)
        return Step("brand", "done", f"brand {brand.sid} resubmitted with the corrected profile", {"sid": brand.sid})

    @staticmethod
    def _record_brand(row: Registration, brand: Brand) -> None:
        rows.record(row, brand.status, _brand_problems(brand), sid=brand.sid, submitted=True)

    def campaign(self, profile: BusinessProfile, service_sid: str) -> Step:
        brand = self._row(K.BRAND)
        if brand.twilio_status != "APPROVED" or brand.twilio_sid is None:
            return Step(
                "campaign",
                "unchanged",
                "waits for the brand's approval; the service then registers the campaign by itself",
            )
        brand_sid = brand.twilio_sid
        with self._db() as (db, office):
            before = rows.find(db, office.id, K.CAMPAIGN)
            had = before.twilio_sid if before else None
            campaign.submit(
                db, self.settings, self.gateway, office, profile, service_sid=service_sid, brand_sid=brand_sid
            )
            row = rows.find(db, office.id, K.CAMPAIGN)
        assert row is not None
        status = "unchanged" if had else "done"
        return Step("campaign", status, f"campaign {row.twilio_sid} is {row.twilio_status}", {"sid": row.twilio_sid})

    # --- toll-free ----------------------------------------------------------------------------------------------

    def tollfree(self, profile: BusinessProfile, number: str) -> Step:
        owned = {n.phone_number: n for n in self.gateway.list_incoming_numbers(limit=1000)}
        if number not in owned:
            return Step("tollfree", "failed", f"{number} is not a number of this Twilio account")
        number_sid = owned[number].sid
        row = self._row(K.TOLLFREE, number)
        found = None
        if row.twilio_sid:
            found = self.api.fetch_tollfree_verification(row.twilio_sid)
        else:
            found = next(iter(self.api.list_tollfree_verifications(phone_number_sid=number_sid)), None)
        with self._db() as (db, office):
            texts = campaign_texts(db, office, profile, campaign.sample_link(db, self.settings, office.id))
        details = tollfree.details(profile, texts, self.notify)
        current = digest(profile)
        if found is None or (found.status == "TWILIO_REJECTED" and not found.edit_allowed and _changed(row, current)):
            made = self.api.create_tollfree_verification(number_sid, details)
            self._update(row, lambda r: _record_tollfree(r, made), sent=current)
            return Step("tollfree", "done", f"verification {made.sid} of {number} submitted", {"sid": made.sid})
        verification = found
        row = self._update(row, lambda r: _record_tollfree(r, verification))
        if verification.status != "TWILIO_REJECTED":
            return Step("tollfree", "unchanged", f"{number}: verification {verification.status}")
        if not _changed(row, current):
            found_problems = _tollfree_problems(verification)
            return Step(
                "tollfree",
                "failed",
                f"{number}: verification rejected: {problems.summary(found_problems)}; correct the business profile, "
                "then run again",
                {"problems": found_problems},
            )
        edited = self.api.update_tollfree_verification(
            verification.sid, {**details, "edit_reason": "the business profile was corrected"}
        )
        self._update(row, lambda r: _record_tollfree(r, edited), sent=current)
        return Step("tollfree", "done", f"{number}: verification {edited.sid} resubmitted", {"sid": edited.sid})


def _bound(method: Callable[..., Step], *args: Any) -> Callable[[], Step]:
    return lambda: method(*args)


def _changed(row: Registration, current: str) -> bool:
    return (row.parts or {}).get(DIGEST) != current


def _brand_problems(brand: Brand) -> list[dict[str, Any]]:
    found = problems.from_errors(brand.errors)
    if not found and brand.status == "FAILED":
        found = problems.from_failure(brand.failure_reason)
    return found


def _tollfree_problems(verification: Any) -> list[dict[str, Any]]:
    found = problems.from_errors(verification.rejection_reasons)
    return found or problems.from_failure(verification.rejection_reason, verification.error_code)


def _record_tollfree(row: Registration, verification: Any) -> None:
    rows.record(row, verification.status, _tollfree_problems(verification), sid=verification.sid, submitted=True)
