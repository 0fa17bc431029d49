"""`CheckedOnceAdapter`: the same connection pools and trust settings as requests' own
`HTTPAdapter` chooses, with the CA bundle looked up on the file system once, not per request;
and the Twilio session uses it (storage has its own transport: shared/storage_transport.py)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3 import HTTPSConnectionPool

from shared import twilio_gateway
from shared.http_adapter import TRUST_ATTRIBUTES, CheckedOnceAdapter
from tests.conftest import Configure


@pytest.fixture
def bundles(tmp_path: Path) -> dict[str, Any]:
    """`verify` values: certifi's bundle (True), a bundle file, a folder of certificates."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    return {"default": True, "file": str(bundle), "folder": str(tmp_path)}


def _trust(pool: Any) -> list[Any]:
    return [getattr(pool, name) for name in TRUST_ATTRIBUTES]


@pytest.mark.parametrize("kind", ["default", "file", "folder"])
@pytest.mark.parametrize("url", ["https://acct.queue.test/q", "http://127.0.0.1:10001/q"])
def test_the_adapter_chooses_what_requests_chooses_and_looks_once(
    bundles: dict[str, Any], kind: str, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify = bundles[kind]
    request = requests.Request("GET", url).prepare()
    plain, checked = HTTPAdapter(), CheckedOnceAdapter()
    assert checked.build_connection_pool_key_attributes(
        request, verify
    ) == plain.build_connection_pool_key_attributes(request, verify)
    expected = HTTPSConnectionPool("acct.queue.test")
    plain.cert_verify(expected, url, verify, None)
    first, second = HTTPSConnectionPool("acct.queue.test"), HTTPSConnectionPool("acct.queue.test")
    checked.cert_verify(first, url, verify, None)
    looked: list[str] = []
    real_isdir, real_exists = os.path.isdir, os.path.exists
    monkeypatch.setattr(os.path, "isdir", lambda p: looked.append(p) or real_isdir(p))
    monkeypatch.setattr(os.path, "exists", lambda p: looked.append(p) or real_exists(p))
    checked.cert_verify(second, url, verify, None)
    checked.build_connection_pool_key_attributes(request, verify)
    assert looked == []
    for pool in (first, second):
        assert _trust(pool) == _trust(expected)


def test_verification_off_gives_requests_own_pool_key() -> None:
    request = requests.Request("GET", "https://acct.queue.test/q").prepare()
    assert CheckedOnceAdapter().build_connection_pool_key_attributes(
        request, False
    ) == HTTPAdapter().build_connection_pool_key_attributes(request, False)


def test_a_missing_bundle_still_fails_the_request(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="invalid path"):
        CheckedOnceAdapter().cert_verify(
            HTTPSConnectionPool("acct.queue.test"),
            "https://acct.queue.test/",
            str(tmp_path / "missing.pem"),
            None,
        )


def test_an_http_check_does_not_stand_in_for_https(tmp_path: Path) -> None:
    """requests checks the bundle only for https: a first http request must not let a missing
    bundle through for the https requests after it."""
    missing = str(tmp_path / "missing.pem")
    adapter = CheckedOnceAdapter()
    adapter.cert_verify(HTTPSConnectionPool("h.test"), "http://h.test/", missing, None)
    with pytest.raises(OSError, match="invalid path"):
        adapter.cert_verify(HTTPSConnectionPool("h.test"), "https://h.test/", missing, None)


def test_each_bundle_is_checked_on_its_own(bundles: dict[str, Any], tmp_path: Path) -> None:
    adapter = CheckedOnceAdapter()
    good = HTTPSConnectionPool("h.test")
    adapter.cert_verify(good, "https://h.test/", bundles["file"], None)
    assert good.ca_certs == bundles["file"]
    with pytest.raises(OSError, match="invalid path"):
        adapter.cert_verify(
            HTTPSConnectionPool("h.test"), "https://h.test/", str(tmp_path / "gone.pem"), None
        )


def test_the_twilio_session_checks_the_ca_bundle_once(
    plain_env: pytest.MonkeyPatch, configure: Configure
) -> None:
    configure()
    twilio_session = twilio_gateway.get_client().http_client.session
    for prefix in ("http://", "https://"):
        assert isinstance(twilio_session.get_adapter(prefix + "host.test/"), CheckedOnceAdapter)
