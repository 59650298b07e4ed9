"""Checks of the public side: HTTPS, DNS, and the certificate served at the public URL (and the one in the
configured files), judged as Twilio's HTTP client would judge it."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from .certs import fetch_chain, judge_all, key_matches, load_pem_chain, trusted_roots
from .checks import CheckFunction, CheckList, Outcome, failed, not_applicable, ok, warning
from .context import DoctorContext

checks = CheckList()

SERVED = "server.certificate.served"
HTTPS_FIX = (
    "use https:// in the public URL, with `reminders serve --certfile ... --keyfile ...` or an HTTPS reverse proxy "
    "(`reminders serve --behind-proxy`)"
)


def _target(ctx: DoctorContext) -> tuple[str, int]:
    parts = urlsplit(ctx.public_url or "")
    return parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


@checks.add("server.https", "Public URL uses HTTPS", depends_on=("settings.public_url",))
def https(ctx: DoctorContext) -> Outcome:
    if urlsplit(ctx.public_url or "").scheme != "https":
        return failed(
            "the public URL is http: patients' answers would cross the internet unencrypted (HTTP type must be HTTPS)",
            HTTPS_FIX,
        )
    return ok("HTTPS")


@checks.add("server.dns", "Public host name resolves", depends_on=("settings.public_url",))
def dns(ctx: DoctorContext) -> Outcome:
    host, port = _target(ctx)
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError):
            return failed(
                f"{host} does not resolve: Twilio cannot find the server (alert 11210)",
                f"create a DNS A (or AAAA) record for {host} pointing at the server's public address",
            )
        addresses = sorted({str(info[4][0]) for info in infos})
    private = all(ipaddress.ip_address(a.split("%")[0]).is_private for a in addresses)
    if private and not ctx.twilio.base_url:
        return warning(
            f"{host} is a private address ({', '.join(addresses[:3])}): Twilio cannot reach it from the internet",
            "use the server's public name or address (the seed's External IP) and forward its port to this server",
        )
    return ok(f"{host} → {', '.join(addresses[:3])}")


@checks.add(SERVED, "Certificate served at the public URL", depends_on=("server.https", "server.dns"))
def served(ctx: DoctorContext) -> Outcome:
    host, port = _target(ctx)
    try:
        chain = fetch_chain(host, port, ctx.probe_timeout)
    except ssl.SSLError as exc:
        return failed(
            f"the TLS handshake with {host}:{port} failed ({exc.reason or 'SSL error'}): Twilio would fail too "
            "(alert 11220)",
            "check that the server speaks HTTPS on this port with TLS 1.2 or later",
        )
    except OSError as exc:
        return failed(
            f"nothing answered on {host}:{port} ({type(exc).__name__})",
            "start `reminders serve --certfile ... --keyfile ...` (or the HTTPS proxy) and open the port in the "
            "firewall",
        )
    if not chain:
        return failed(f"{host}:{port} sent no certificate", "configure the certificate on the server or proxy")
    ctx.cache["served_chain"] = chain
    ctx.cache["served_judgements"] = judge_all(chain, host, ctx.now, _roots(ctx))
    return ok(f"{host}:{port} sends {len(chain)} certificate(s)")


def _roots(ctx: DoctorContext) -> tuple[x509.Certificate, ...]:
    return tuple(ctx.trusted_roots) if ctx.trusted_roots is not None else trusted_roots()


def _judged(aspect: str) -> CheckFunction:
    def run(ctx: DoctorContext) -> Outcome:
        judgements: dict[str, Outcome] = ctx.cache["served_judgements"]
        return judgements[aspect]

    return run


for _aspect, _title in (
    ("key", "Certificate key strong enough (RSA 2048+ or EC)"),
    ("expiry", "Certificate not expired or expiring within 30 days"),
    ("hostname", "Certificate valid for the public host name"),
    ("chain", "Certificate chain complete, up to a public CA"),
):
    checks.add(f"server.certificate.{_aspect}", _title, depends_on=(SERVED,))(_judged(_aspect))


@checks.add("server.certificate.files", "Configured certificate files", depends_on=("settings.public_url",))
def certificate_files(ctx: DoctorContext) -> Outcome:
    certfile, keyfile = ctx.settings.tls_certfile, ctx.settings.tls_keyfile
    if not certfile:
        how = "a reverse proxy serves HTTPS" if ctx.settings.behind_proxy else "HTTPS is not served by this process"
        return not_applicable(f"no REMINDERS_TLS_CERTFILE: {how}")
    fix_files = "point REMINDERS_TLS_CERTFILE at the PEM certificate chain and REMINDERS_TLS_KEYFILE at its key"
    try:
        chain = load_pem_chain(certfile)
        key_pem = Path(keyfile or certfile).read_bytes()
        matches = key_matches(chain[0], key_pem)
    except (OSError, ValueError, TypeError, IndexError) as exc:
        return failed(f"the certificate or key file cannot be read ({type(exc).__name__})", fix_files)
    if not matches:
        return failed("the key file does not belong to the certificate", fix_files)
    host, _ = _target(ctx)
    judgements = judge_all(chain, host, ctx.now, _roots(ctx))
    worst = next((j for j in judgements.values() if j.status == "failed"), None) or next(
        (j for j in judgements.values() if j.status == "warning"), None
    )
    if worst is not None:
        return type(worst)(worst.status, f"{Path(certfile).name}: {worst.explanation}", worst.fix)
    return ok(f"{Path(certfile).name}: " + "; ".join(j.explanation for j in judgements.values()))
