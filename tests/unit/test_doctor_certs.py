"""Certificate judgements with certificates made in the test: key, expiry, host name and chain."""

from __future__ import annotations

import ssl
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from clinic_reminders.doctor.certs import judge_chain, judge_expiry, judge_hostname, judge_key, key_matches
from clinic_reminders.doctor.checks import Status
from clinic_reminders.tls import (
    TEST_LABEL,
    Issued,
    make_certificate,
    make_key,
    server_context,
    write_self_signed,
)

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
HOST = "clinic.example.com"
EC = make_key("ec")


def cert(hosts: list[str] | None = None, **kwargs: object) -> x509.Certificate:
    kwargs.setdefault("key", EC)
    kwargs.setdefault("not_before", NOW - timedelta(days=10))
    return make_certificate([HOST] if hosts is None else hosts, **kwargs).certificate  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    """A root CA, an intermediate it signed, and a leaf the intermediate signed."""
    root = make_certificate(
        [], key=make_key("ec"), is_ca=True, common_name="Test Root CA", not_before=NOW - timedelta(days=900), days=3650
    )
    intermediate = make_certificate(
        [],
        key=make_key("ec"),
        issuer=root,
        is_ca=True,
        common_name="Test Intermediate",
        not_before=NOW - timedelta(days=300),
        days=1000,
    )
    leaf = make_certificate([HOST], key=EC, issuer=intermediate, common_name=HOST, not_before=NOW - timedelta(days=10))
    return {"root": root, "intermediate": intermediate, "leaf": leaf}


def test_it_accepts_rsa_2048_and_ec_keys() -> None:
    rsa = judge_key(cert(key=make_key("rsa", 2048)))
    assert rsa.status is Status.OK and rsa.explanation == "RSA 2048 bits"
    ec = judge_key(cert())
    assert ec.status is Status.OK and ec.explanation == "EC secp256r1"


def test_it_fails_a_1024_bit_rsa_key_with_the_fix() -> None:
    outcome = judge_key(cert(key=make_key("rsa", 1024)))
    assert outcome.status is Status.FAILED
    assert "1024 bits" in outcome.explanation
    assert "at least 2048 bits or an EC key" in outcome.fix


def test_it_fails_an_expired_certificate() -> None:
    outcome = judge_expiry(cert(not_before=NOW - timedelta(days=100), not_after=NOW - timedelta(days=1)), NOW)
    assert outcome.status is Status.FAILED
    assert outcome.explanation.startswith("expired on 2030-05-31")
    assert "renew" in outcome.fix


def test_it_warns_thirty_days_before_expiry() -> None:
    near = judge_expiry(cert(not_after=NOW + timedelta(days=12)), NOW)
    assert near.status is Status.WARNING and "in 12 days" in near.explanation and "renew" in near.fix
    fine = judge_expiry(cert(not_after=NOW + timedelta(days=31)), NOW)
    assert fine.status is Status.OK and "(31 days)" in fine.explanation


def test_it_fails_a_certificate_not_valid_yet() -> None:
    outcome = judge_expiry(cert(not_before=NOW + timedelta(hours=2)), NOW)
    assert outcome.status is Status.FAILED and "clock" in outcome.fix


@pytest.mark.parametrize(
    ("names", "host", "status"),
    [
        ([HOST], HOST, Status.OK),
        (["CLINIC.example.com"], HOST, Status.OK),
        (["*.example.com"], HOST, Status.OK),
        (["*.example.com"], "a.b.example.com", Status.FAILED),
        (["*.example.com"], "example.com", Status.FAILED),
        (["other.example.org"], HOST, Status.FAILED),
        (["127.0.0.1"], "127.0.0.1", Status.OK),
        (["localhost"], "127.0.0.1", Status.FAILED),
    ],
)
def test_it_matches_the_host_against_the_subject_alt_names(names: list[str], host: str, status: Status) -> None:
    assert judge_hostname(cert(names), host).status is status


def test_it_names_the_wrong_host_and_the_fix() -> None:
    outcome = judge_hostname(cert(["old.example.org", "www.old.example.org"]), HOST)
    assert (
        outcome.explanation
        == f"made for old.example.org, www.old.example.org, not for {HOST}: Twilio refuses it (alert 11235)"
    )
    assert f"subjectAltName includes {HOST}" in outcome.fix


def test_it_fails_a_certificate_without_subject_alt_names() -> None:
    outcome = judge_hostname(cert([], common_name=HOST), HOST)
    assert outcome.status is Status.FAILED and "no subjectAltName" in outcome.explanation


def test_it_fails_a_self_signed_certificate() -> None:
    outcome = judge_chain([cert()], [])
    assert outcome.status is Status.FAILED
    assert outcome.explanation.startswith("self-signed")
    assert "public CA" in outcome.fix


def test_it_accepts_a_full_chain_up_to_a_trusted_root(pki: dict[str, Issued]) -> None:
    chain = [pki["leaf"].certificate, pki["intermediate"].certificate]
    outcome = judge_chain(chain, [pki["root"].certificate])
    assert outcome.status is Status.OK
    assert "up to the trusted root Test Root CA" in outcome.explanation
    with_root = judge_chain([*chain, pki["root"].certificate], [pki["root"].certificate])
    assert with_root.status is Status.OK


def test_it_fails_a_leaf_served_without_its_intermediate(pki: dict[str, Issued]) -> None:
    outcome = judge_chain([pki["leaf"].certificate], [pki["root"].certificate])
    assert outcome.status is Status.FAILED
    assert "only its own certificate" in outcome.explanation and "Test Intermediate" in outcome.explanation
    assert "fullchain.pem" in outcome.fix


def test_it_fails_a_chain_out_of_order_or_from_a_private_ca(pki: dict[str, Issued]) -> None:
    swapped = judge_chain([pki["intermediate"].certificate, pki["leaf"].certificate], [pki["root"].certificate])
    assert swapped.status is Status.FAILED and "out of order" in swapped.explanation
    private = judge_chain([pki["leaf"].certificate, pki["intermediate"].certificate], [])
    assert private.status is Status.FAILED and "not a trusted root" in private.explanation


def test_it_tells_whether_a_key_belongs_to_a_certificate() -> None:
    issued = make_certificate([HOST], key=EC)
    assert key_matches(issued.certificate, issued.key_pem)
    assert not key_matches(issued.certificate, make_certificate([HOST], key=make_key("ec")).key_pem)


def test_it_labels_a_self_signed_certificate_as_a_test_one(tmp_path: Path) -> None:
    cert_path, key_path = write_self_signed("clinic.test", tmp_path / "tls", days=7, key_kind="rsa")
    written = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert written.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == TEST_LABEL
    assert written.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == TEST_LABEL
    assert "not for production" in TEST_LABEL
    assert judge_hostname(written, "clinic.test").status is Status.OK
    assert judge_key(written).explanation == "RSA 2048 bits"
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    assert key_matches(written, key_path.read_bytes())


def test_it_serves_tls_1_2_and_up_with_strong_ciphers_only(tmp_path: Path) -> None:
    cert_path, key_path = write_self_signed("localhost", tmp_path, key_kind="ec")
    context = server_context(cert_path, key_path)
    assert context.minimum_version is ssl.TLSVersion.TLSv1_2
    names = [c["name"] for c in context.get_ciphers()]
    assert names and all(("GCM" in n or "CHACHA20" in n) for n in names), names
    assert not any(weak in n for n in names for weak in ("RC4", "DES", "MD5", "NULL", "CBC"))
