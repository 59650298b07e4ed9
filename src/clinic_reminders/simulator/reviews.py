"""How a review goes: a submission is in review after half of `review_delay_s` and decided at its end, unless
`reviews_approve` is off, in which case it waits for the inspection API ("approve now", "reject now").

Decided by itself, a review approves what is in order and rejects, with the reason Twilio gives, what is not:
a bundle its evaluation finds noncompliant (the first failing requirement), a brand whose bundles are not
approved (30793), a campaign whose brand is not (30991). One that depends on a bundle still in review waits
for it, as Twilio's does.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from .policies import POLICIES, compliant, evaluate
from .registry import Brand, Bundle, Campaign, Registration, Rejection

if TYPE_CHECKING:
    from .core import Simulator

BUNDLES_NOT_VALID = Rejection(30793, "Validation failures with connected a2p or customer profile bundle.")
BRAND_UNVERIFIED = Rejection(
    30991,
    "The Brand of this Campaign is in an unverified status. Campaign registrations under unverified brands is "
    "not allowed.",
)


def submit(sim: Simulator, registration: Registration) -> None:
    """Submit (or resubmit) for review; the outcome comes later."""
    registration.submit()
    revision = registration.revision
    loop = asyncio.get_running_loop()
    delay = sim.config.review_delay_s
    loop.call_later(delay / 2, _start, registration, revision)
    if sim.config.reviews_approve:
        loop.call_later(delay, _conclude, sim, registration, revision)


def _start(registration: Registration, revision: int) -> None:
    if registration.revision == revision and registration.status == registration.LIFECYCLE.submitted:
        registration.start_review()


def _conclude(sim: Simulator, registration: Registration, revision: int) -> None:
    if registration.revision != revision or not registration.under_review:
        return  # decided meanwhile (inspection API) or resubmitted
    if sim.registry.find(registration.sid) is not registration:
        return  # deleted, or forgotten by a reset
    if _waits(sim, registration):
        asyncio.get_running_loop().call_later(sim.config.review_delay_s, _conclude, sim, registration, revision)
        return
    rejection = verdict(sim, registration)
    if rejection is None:
        registration.approve()
    else:
        registration.reject(rejection)


def _waits(sim: Simulator, registration: Registration) -> bool:
    """Does the decision depend on a bundle that is itself still in review?"""
    registry = sim.registry.of(registration.account_sid)
    if isinstance(registration, Brand):
        depends = [registration.customer_profile_bundle_sid, registration.a2p_profile_bundle_sid]
    elif isinstance(registration, Bundle):
        depends = registration.assigned()
    else:
        return False
    return any((b := registry.bundle(sid)) is not None and b.under_review for sid in depends)


def verdict(sim: Simulator, registration: Registration) -> Rejection | None:
    """What a review decides by itself: None approves."""
    registry = sim.registry.of(registration.account_sid)
    if isinstance(registration, Bundle):
        policy = POLICIES.get(registration.policy_sid)
        if policy is None:
            return None
        results = evaluate(registration, policy, registry, sim.registry)
        if compliant(results):
            return None
        failed = next(r for r in results if not r["passed"])
        fields = tuple(i["object_field"] for i in failed["invalid"]) or (failed["requirement_name"],)
        return Rejection(int(failed["error_code"]), str(failed["failure_reason"]), fields)
    if isinstance(registration, Brand):
        profile = registry.profiles.get(registration.customer_profile_bundle_sid)
        product = registry.trust_products.get(registration.a2p_profile_bundle_sid)
        ok = profile is not None and profile.approved and product is not None and product.approved
        return None if ok else BUNDLES_NOT_VALID
    if isinstance(registration, Campaign):
        brand = registry.brands.get(registration.brand_registration_sid)
        return None if brand is not None and brand.approved else BRAND_UNVERIFIED
    return None
