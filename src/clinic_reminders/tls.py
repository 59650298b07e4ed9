"""TLS for `reminders serve` and the MLLP listener: a server SSLContext (TLS 1.2+, forward-secret AEAD ciphers
only) and test certificates that say in their own name that they are not for production.

Twilio validates webhook certificates against public CAs, so a self-signed certificate is for tests and
`reminders serve` on a laptop; the doctor reports it as failing (`server.certificate.chain`).
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

TEST_LABEL = "clinic-reminders TEST certificate — not for production"
# TLS 1.2 suites with forward secrecy and AEAD; TLS 1.3 suites are all strong and are not affected by this string.
STRONG_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:DHE+CHACHA20:!aNULL:!eNULL:!MD5:!DSS:!RC4:!3DES:!SHA1"

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: PrivateKey

    @property
    def cert_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )


def make_key(kind: str = "rsa", size: int = 2048) -> PrivateKey:
    """An RSA key of `size` bits, or an EC P-256 key."""
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=size)
    raise ValueError("key kind must be 'rsa' or 'ec'")


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def make_certificate(
    hosts: list[str],
    *,
    key: PrivateKey | None = None,
    issuer: Issued | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    days: int = 90,
    common_name: str = TEST_LABEL,
    is_ca: bool = False,
) -> Issued:
    """A certificate for `hosts` (DNS names or IP addresses), self-signed unless `issuer` is given.

    Tests use it for every case the doctor judges: expired, near expiry, 1024-bit, EC, wrong host, chains.
    """
    key = key or make_key()
    start = not_before or datetime.now(UTC) - timedelta(minutes=5)
    end = not_after or start + timedelta(days=days)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, TEST_LABEL),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if hosts:
        builder = builder.add_extension(_san(hosts), critical=False)
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
    signer = issuer.key if issuer else key
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def write_self_signed(host: str, out_dir: Path, *, days: int = 90, key_kind: str = "rsa") -> tuple[Path, Path]:
    """`reminders cert self-signed`: cert.pem and key.pem (readable by the owner only) in `out_dir`."""
    hosts = [host] if host != "localhost" else ["localhost", "127.0.0.1"]
    issued = make_certificate(hosts, key=make_key(key_kind), days=days)
    out_dir.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = out_dir / "cert.pem", out_dir / "key.pem"
    cert_path.write_bytes(issued.cert_pem)
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(issued.key_pem)
    return cert_path, key_path


def server_context(certfile: str | os.PathLike[str], keyfile: str | os.PathLike[str] | None = None) -> ssl.SSLContext:
    """TLS 1.2 and 1.3 only, strong ciphers, no compression or renegotiation."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(STRONG_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(certfile, keyfile)
    return context


def uvicorn_ssl_context(config: Any, _default: Any) -> ssl.SSLContext:
    """uvicorn's `ssl_context_factory`: our context instead of its default (which allows what OpenSSL allows)."""
    return server_context(config.ssl_certfile, config.ssl_keyfile)
