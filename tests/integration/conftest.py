"""Fixtures of the integration tests that several files share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from clinic_reminders.migrations import upgrade
from clinic_reminders.tls import Issued, make_certificate, make_key
from tests.conftest import DATABASES, postgres_schema


@pytest.fixture(params=DATABASES)
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'setup.db'}"
        upgrade(url)
        yield url
        return
    with postgres_schema() as url:
        upgrade(url)
        yield url


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private CA (trusted by the simulator and the doctor in this test) and a full chain for 127.0.0.1."""
    root = make_certificate([], key=make_key("ec"), is_ca=True, common_name="Setup Test Root", days=3650)
    intermediate = make_certificate([], key=make_key("ec"), issuer=root, is_ca=True, common_name="Setup Test CA")
    leaf: Issued = make_certificate(["127.0.0.1"], key=make_key("ec"), issuer=intermediate, common_name="127.0.0.1")
    folder = tmp_path_factory.mktemp("pki")
    files = {"root": folder / "root.pem", "cert": folder / "fullchain.pem", "key": folder / "key.pem"}
    files["root"].write_bytes(root.cert_pem)
    files["cert"].write_bytes(leaf.cert_pem + intermediate.cert_pem)
    files["key"].write_bytes(leaf.key_pem)
    return {name: str(path) for name, path in files.items()}
