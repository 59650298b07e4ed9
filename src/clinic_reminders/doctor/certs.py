"""Certificate inspection, offline: key type and size, validity dates, host name (subjectAltName), chain.

`fetch_chain` takes the chain a server sends, without judging it (an expired or self-signed certificate must
still be looked at); the judging is pure and tested with certificates generated in the tests. The chain is
complete when every certificate is issued by the next and the last is, or is issued by, a trusted root (Twilio
trusts the Mozilla store, which is what certifi ships).
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
import ssl
import warnings
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_private_key
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.oid import NameOID

from .checks import Outcome, failed, ok, warning

MIN_RSA_BITS = 2048
EXPIRY_WARNING = timedelta(days=30)
FULL_CHAIN_FIX = (
    "serve the full chain: your certificate first, then the CA's intermediates (Let's Encrypt: fullchain.pem, "
    "not cert.pem)"
)
PUBLIC_CA_FIX = "use a certificate from a public CA (e.g. Let's Encrypt with certbot) for the public host name"


def fetch_chain(host: str, port: int, timeout: float) -> list[x509.Certificate]:
    """The certificates the server at host:port sends, leaf first, unverified."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        ders = _served_ders(tls)
    return [x509.load_der_x509_certificate(der) for der in ders]


def _served_ders(tls: ssl.SSLSocket) -> list[bytes]:
    # Python 3.13 has SSLSocket.get_unverified_chain(); 3.10-3.12 have it on the underlying _ssl object only.
    getter: Any = getattr(tls, "get_unverified_chain", None) or getattr(
        getattr(tls, "_sslobj", None), "get_unverified_chain", None
    )
    if getter is not None:
        chain = getter() or []
        return [c if isinstance(c, bytes) else c.public_bytes(ssl._ssl.ENCODING_DER) for c in chain]  # type: ignore[attr-defined]
    leaf = tls.getpeercert(binary_form=True)
    return [leaf] if leaf else []


def load_pem_chain(path: str | Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


@lru_cache(maxsize=1)
def trusted_roots() -> tuple[x509.Certificate, ...]:
    """Mozilla's roots as certifi ships them, else the system's bundle."""
    candidates: list[str] = []
    try:
        import certifi

        candidates.append(certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with requests and httpx
        pass
    paths = ssl.get_default_verify_paths()
    candidates += [p for p in (paths.cafile, paths.openssl_cafile) if p]
    for candidate in candidates:
        try:
            with warnings.catch_warnings():  # a few old roots have negative serial numbers: not our concern
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                return tuple(load_pem_chain(candidate))
        except (OSError, ValueError):
            continue
    return ()


def describe(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string() or "(no name)"


# --- judgements -----------------------------------------------------------------------------------------------


def judge_key(cert: x509.Certificate) -> Outcome:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            return failed(
                f"RSA key of {key.key_size} bits: too weak, clients and Twilio may refuse it",
                f"get a new certificate with an RSA key of at least {MIN_RSA_BITS} bits or an EC key",
            )
        return ok(f"RSA {key.key_size} bits")
    if isinstance(key, ec.EllipticCurvePublicKey):
        return ok(f"EC {key.curve.name}")
    return failed(
        f"{type(key).__name__.removeprefix('_')} key: not widely supported by HTTPS clients",
        f"get a certificate with an RSA key of at least {MIN_RSA_BITS} bits or an EC (P-256) key",
    )


def judge_expiry(cert: x509.Certificate, now: datetime) -> Outcome:
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    renew = "renew the certificate (certbot renew) and restart `reminders serve` or reload the proxy"
    if end <= now:
        return failed(f"expired on {end:%Y-%m-%d}: Twilio refuses it (alert 11236)", renew)
    if start > now:
        return failed(
            f"not valid before {start:%Y-%m-%d %H:%M} UTC",
            "check the server's clock, or wait until the certificate becomes valid",
        )
    left = end - now
    if left < EXPIRY_WARNING:
        return warning(f"expires on {end:%Y-%m-%d}, in {left.days} days", renew)
    return ok(f"valid until {end:%Y-%m-%d} ({left.days} days)")


def _matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == host


def judge_hostname(cert: x509.Certificate, host: str) -> Outcome:
    fix = f"get a certificate whose subjectAltName includes {host}, or set the public URL to a name it covers"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return failed("the certificate has no subjectAltName: HTTPS clients ignore the common name", fix)
    dns_names = san.get_values_for_type(x509.DNSName)
    addresses = san.get_values_for_type(x509.IPAddress)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        matched = any(_matches(name, host) for name in dns_names)
    else:
        matched = address in addresses
    if matched:
        return ok(f"valid for {host}")
    covered = [*dns_names, *(str(a) for a in addresses)]
    listed = ", ".join(covered[:5]) + (" ..." if len(covered) > 5 else "") or "nothing"
    return failed(f"made for {listed}, not for {host}: Twilio refuses it (alert 11235)", fix)


def _issued_by(child: x509.Certificate, parent: x509.Certificate) -> bool:
    if child.issuer != parent.subject:
        return False
    try:
        child.verify_directly_issued_by(parent)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def is_self_signed(cert: x509.Certificate) -> bool:
    return _issued_by(cert, cert)


def judge_chain(chain: list[x509.Certificate], roots: tuple[x509.Certificate, ...] | list[x509.Certificate]) -> Outcome:
    if not chain:
        return failed("the server sent no certificate", PUBLIC_CA_FIX)
    leaf = chain[0]
    if is_self_signed(leaf):
        return failed(
            f"self-signed ({describe(leaf)}): Twilio accepts only certificates from public CAs (alert 11237)",
            PUBLIC_CA_FIX,
        )
    for child, parent in itertools.pairwise(chain):
        if not _issued_by(child, parent):
            return failed(
                f"the chain is out of order: {describe(child)} is not issued by {describe(parent)}", FULL_CHAIN_FIX
            )
    top = chain[-1]
    fingerprints = {root.fingerprint(hashes.SHA256()) for root in roots}
    if top.fingerprint(hashes.SHA256()) in fingerprints:
        return ok(f"complete: {len(chain)} certificates up to the trusted root {describe(top)}")
    root = next((r for r in roots if _issued_by(top, r)), None)
    if root is not None:
        return ok(f"complete: {len(chain)} certificate(s) up to the trusted root {describe(root)}")
    if len(chain) == 1:
        return failed(
            "the server sends only its own certificate; the intermediate that issued it "
            f"({top.issuer.rfc4514_string()}) is missing, so Twilio cannot reach a trusted root (alert 11237)",
            FULL_CHAIN_FIX,
        )
    return failed(
        f"the chain ends at {describe(top)}, issued by {top.issuer.rfc4514_string()}, which is not a trusted root "
        "(a missing intermediate, or a private CA)",
        f"{FULL_CHAIN_FIX}; {PUBLIC_CA_FIX}",
    )


def judge_all(
    chain: list[x509.Certificate],
    host: str,
    now: datetime,
    roots: tuple[x509.Certificate, ...] | list[x509.Certificate],
) -> dict[str, Outcome]:
    leaf = chain[0]
    return {
        "key": judge_key(leaf),
        "expiry": judge_expiry(leaf, now),
        "hostname": judge_hostname(leaf, host),
        "chain": judge_chain(chain, roots),
    }


def key_matches(cert: x509.Certificate, key_pem: bytes) -> bool:
    key = load_pem_private_key(key_pem, password=None)
    public = key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return public == cert.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
