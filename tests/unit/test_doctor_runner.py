"""The doctor's runner: dependency order, skipping after a failure, crashes contained, JSON-able reports."""

from __future__ import annotations

import json

import pytest

from clinic_reminders.doctor import ALL_CHECKS, Check, Status, run_doctor
from clinic_reminders.doctor.checks import CheckList, Outcome, failed, ok
from clinic_reminders.doctor.context import DoctorContext
from clinic_reminders.doctor.runner import in_dependency_order
from clinic_reminders.gateways import ErrorKind, TwilioError
from clinic_reminders.settings import Settings
from tests.conftest import TEST_SECRET_KEY

# The contract: the set-up page, support scripts and the tests key on these ids.
STABLE_IDS = {
    "settings.secret_key",
    "settings.alerts",
    "settings.public_url",
    "settings.twilio_account",
    "settings.twilio_number",
    "database.connect",
    "database.migrated",
    "dispatcher.heartbeat",
    "server.https",
    "server.dns",
    "server.certificate.served",
    "server.certificate.key",
    "server.certificate.expiry",
    "server.certificate.hostname",
    "server.certificate.chain",
    "server.certificate.files",
    "twilio.credentials",
    "twilio.account.type",
    "twilio.account.status",
    "twilio.balance",
    "twilio.number.exists",
    "twilio.number.capabilities",
    "twilio.number.sms_url",
    "twilio.number.voice_url",
    "twilio.caller_ids",
    "twilio.api_key",
    "twilio.video",
    "twilio.alerts",
    "twilio.webhook.signed",
    "twilio.messaging_service",
    "twilio.a2p.brand",
    "twilio.a2p.campaign",
    "twilio.tollfree.verification",
    "twilio.delivery_errors",
}


def ctx() -> DoctorContext:
    return DoctorContext(Settings(secret_key=TEST_SECRET_KEY))


def test_it_keeps_every_check_id_stable_unique_and_ordered() -> None:
    ids = [c.id for c in ALL_CHECKS]
    assert len(ids) == len(set(ids))
    assert set(ids) == STABLE_IDS
    ordered = in_dependency_order(ALL_CHECKS)
    position = {c.id: i for i, c in enumerate(ordered)}
    assert all(position[d] < position[c.id] for c in ordered for d in c.depends_on)


def test_it_runs_dependencies_first_and_skips_what_depends_on_a_failure() -> None:
    seen: list[str] = []
    checks = CheckList()

    def record(name: str, outcome: Outcome) -> None:
        def run(_ctx: DoctorContext) -> Outcome:
            seen.append(name)
            return outcome

        checks.append(Check(name, name.title(), run, depends_on=deps[name]))

    deps = {"child": ("parent",), "grandchild": ("child",), "parent": (), "sibling": ("parent",), "other": ()}
    record("grandchild", ok("fine"))
    record("child", failed("broken", "mend it"))
    record("parent", ok("fine"))
    record("sibling", ok("fine"))
    record("other", ok("fine"))
    report = run_doctor(ctx(), checks)
    assert seen == ["parent", "child", "sibling", "other"]  # grandchild never ran
    assert [r.id for r in report.results] == ["parent", "child", "grandchild", "sibling", "other"]
    assert report.result("child").fix == "mend it"
    skipped = report.result("grandchild")
    assert skipped.status is Status.SKIPPED and skipped.explanation == "not checked: Child did not pass"
    assert not report.ok
    assert report.counts == {"ok": 3, "warning": 0, "failed": 1, "skipped": 1}


def test_it_reports_a_crashing_check_as_failed_and_goes_on() -> None:
    def crash(_ctx: DoctorContext) -> Outcome:
        raise KeyError("boom")

    def twilio_down(_ctx: DoctorContext) -> Outcome:
        raise TwilioError(ErrorKind.TRANSIENT, "no answer from Twilio in time")

    checks = [Check("a", "A", crash), Check("b", "B", twilio_down), Check("c", "C", lambda _c: ok("fine"))]
    report = run_doctor(ctx(), checks)
    assert report.result("a").status is Status.FAILED and "KeyError" in report.result("a").explanation
    assert "no answer from Twilio in time" in report.result("b").explanation
    assert report.result("c").status is Status.OK


def test_it_refuses_unknown_dependencies_and_cycles() -> None:
    with pytest.raises(ValueError, match="unknown"):
        in_dependency_order([Check("a", "A", lambda _c: ok(""), depends_on=("nope",))])
    with pytest.raises(ValueError, match="cycle"):
        in_dependency_order(
            [
                Check("a", "A", lambda _c: ok(""), depends_on=("b",)),
                Check("b", "B", lambda _c: ok(""), depends_on=("a",)),
            ]
        )


def test_it_makes_a_json_report_without_secrets() -> None:
    settings = Settings(
        secret_key=TEST_SECRET_KEY, twilio_account_sid="AC" + "1" * 32, twilio_auth_token="tok-very-secret"
    )
    report = run_doctor(DoctorContext(settings), [c for c in ALL_CHECKS if c.id.startswith("settings.")])
    text = json.dumps(report.to_dict())
    assert "tok-very-secret" not in text and TEST_SECRET_KEY not in text
    data = json.loads(text)
    assert data["ok"] is False
    assert {c["id"]: c["status"] for c in data["checks"]} == {
        "settings.secret_key": "ok",
        "settings.public_url": "failed",
        "settings.twilio_account": "ok",
        "settings.twilio_number": "failed",
        "settings.alerts": "warning",
    }
