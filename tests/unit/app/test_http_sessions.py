"""The app's HTTP sessions do not read the environment per request: every storage client sends
through the process's one session with `trust_env` off, the Twilio client's session has it off
too, and the proxies and CA bundle the environment names are read once, when a client is built.

Requests go through a recording adapter mounted on the real session (to real Azurite where a
test needs an answer), so what the SDKs hand to `requests` is seen as they hand it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import pytest
import requests
from azure.core.credentials import AccessToken
from requests.adapters import DEFAULT_POOLSIZE, HTTPAdapter
from urllib3 import HTTPSConnectionPool

from shared import twilio_gateway
from shared.http_adapter import TRUST_ATTRIBUTES, TWILIO_POOL_SIZE, CheckedOnceAdapter
from shared.process_state import reset_process_state
from shared.storage_connection import (
    ConnectionString,
    IdentityConnection,
    queue_client,
    queue_service_client,
    storage_session,
    table_service_client,
)

PROXY = "http://proxy.example.test:3128"
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
CA_VARIABLES = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
IDENTITY = IdentityConnection(
    queue_service_uri="https://acct.queue.core.windows.net",
    table_service_uri="https://acct.table.core.windows.net",
)
TIMEOUTS = {"connection_timeout": 4, "read_timeout": 17}


@dataclass
class Sent:
    """One request as the session's adapter received it."""

    url: str
    timeout: Any
    verify: Any
    proxies: Mapping[str, str]


class RecordingAdapter(HTTPAdapter):
    """Records each request, then sends it (`forward`) or fails it as a refused connection."""

    def __init__(self, forward: bool) -> None:
        super().__init__()
        self.forward = forward
        self.sent: list[Sent] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(
            Sent(str(request.url), kwargs["timeout"], kwargs["verify"], kwargs["proxies"] or {})
        )
        if not self.forward:
            raise requests.exceptions.ConnectionError("not sent (test)")
        return super().send(request, **kwargs)


class StaticToken:
    """A token credential for clients whose requests never leave the process."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("test-token", 2**40)


@pytest.fixture
def plain_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy or CA bundle variables (either case), and fresh process caches."""
    for name in (*PROXY_VARIABLES, *CA_VARIABLES):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    reset_process_state()
    yield monkeypatch
    reset_process_state()


def recording(forward: bool) -> RecordingAdapter:
    """A recording adapter mounted on the process's storage session."""
    adapter = RecordingAdapter(forward)
    for prefix in ("http://", "https://"):
        storage_session().mount(prefix, adapter)
    return adapter


def test_every_storage_client_sends_through_the_one_session_without_trust_env(
    plain_env: pytest.MonkeyPatch, storage_connection_string: str
) -> None:
    adapter = recording(forward=True)
    connection = ConnectionString(storage_connection_string)
    name = f"sessions{uuid.uuid4().hex[:10]}"
    table_service_client(connection, **TIMEOUTS).create_table(name)
    queues = queue_service_client(connection, **TIMEOUTS)
    queues.create_queue(name)
    queue_client(connection, name, **TIMEOUTS).send_message("hello")
    assert queues.get_queue_client(name).peek_messages()[0].content == "hello"

    assert storage_session().trust_env is False
    assert [sent.url.split("?")[0].rsplit("/", 1)[-1] for sent in adapter.sent] == [
        "Tables",
        name,
        "messages",
        "messages",
    ]
    # The callers' timeouts reach requests (a transport given to a client ignores the
    # client's own timeout options); certifi's bundle, no proxy.
    assert {(sent.timeout, sent.verify) for sent in adapter.sent} == {((4, 17), True)}
    assert all(sent.proxies == {} for sent in adapter.sent)


def test_identity_clients_share_the_session_and_reset_gives_a_new_one(
    plain_env: pytest.MonkeyPatch,
) -> None:
    adapter = recording(forward=False)
    first = storage_session()
    options: dict[str, Any] = {"retry_total": 0, **TIMEOUTS}
    with pytest.raises(Exception, match="not sent"):
        queue_client(IDENTITY, "q", StaticToken(), **options).get_queue_properties()
    with pytest.raises(Exception, match="not sent"):
        queue_service_client(IDENTITY, StaticToken(), **options).get_service_properties()
    with pytest.raises(Exception, match="not sent"):
        table_service_client(IDENTITY, StaticToken(), **options).create_table("t")
    assert [sent.url.split("/")[2] for sent in adapter.sent] == [
        "acct.queue.core.windows.net",
        "acct.queue.core.windows.net",
        "acct.table.core.windows.net",
    ]
    reset_process_state()
    assert storage_session() is not first
    assert storage_session().trust_env is False


def test_proxies_and_ca_bundle_are_read_once_for_the_clients_endpoint(
    plain_env: pytest.MonkeyPatch,
) -> None:
    plain_env.setenv("HTTPS_PROXY", PROXY)
    plain_env.setenv("NO_PROXY", "acct.table.core.windows.net")
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    adapter = recording(forward=False)
    queue = queue_client(IDENTITY, "q", StaticToken(), retry_total=0, **TIMEOUTS)
    table = table_service_client(IDENTITY, StaticToken(), retry_total=0, **TIMEOUTS)
    # Read at creation: later changes are not seen by these clients.
    plain_env.setenv("HTTPS_PROXY", "http://other.example.test:1")
    plain_env.delenv("REQUESTS_CA_BUNDLE")
    with pytest.raises(Exception, match="not sent"):
        queue.get_queue_properties()
    with pytest.raises(Exception, match="not sent"):
        table.create_table("t")
    queue_sent, table_sent = adapter.sent
    assert queue_sent.proxies == {"https": PROXY}
    assert table_sent.proxies == {}  # NO_PROXY names the table endpoint
    assert queue_sent.verify == table_sent.verify == "/etc/app/ca.pem"


def test_a_connection_string_client_gets_the_proxy_for_its_endpoint(
    plain_env: pytest.MonkeyPatch, storage_connection_string: str
) -> None:
    plain_env.setenv("HTTP_PROXY", PROXY)
    adapter = recording(forward=False)
    queue = queue_client(
        ConnectionString(storage_connection_string), "q", retry_total=0, **TIMEOUTS
    )
    with pytest.raises(Exception, match="not sent"):
        queue.get_queue_properties()
    assert adapter.sent[0].url.startswith("http://127.0.0.1:")
    assert adapter.sent[0].proxies == {"http": PROXY}


def test_the_twilio_session_does_not_trust_the_environment_and_keeps_its_proxy(
    plain_env: pytest.MonkeyPatch, configure: Any
) -> None:
    configure(TWILIO_API_BASE_URL="http://127.0.0.1:9")
    plain_env.setenv("HTTP_PROXY", PROXY)
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    http_client = twilio_gateway.get_client().http_client
    assert http_client.session.trust_env is False
    assert http_client.proxy == {"http": PROXY}
    assert http_client.session.verify == "/etc/app/ca.pem"


def test_the_twilio_session_has_no_proxy_when_none_is_set(
    plain_env: pytest.MonkeyPatch, configure: Any
) -> None:
    configure()
    http_client = twilio_gateway.get_client().http_client
    assert http_client.session.trust_env is False
    assert http_client.proxy == {}
    assert http_client.session.verify is True


def test_both_sessions_check_the_ca_bundle_once(
    plain_env: pytest.MonkeyPatch, configure: Any
) -> None:
    configure()
    twilio_session = twilio_gateway.get_client().http_client.session
    for session in (storage_session(), twilio_session):
        for prefix in ("http://", "https://"):
            assert isinstance(session.get_adapter(prefix + "host.test/"), CheckedOnceAdapter)


@pytest.fixture
def bundles(tmp_path: Path) -> dict[str, Any]:
    """`verify` values: certifi's bundle (True), a bundle file, a folder of certificates."""
    bundle = tmp_path / "ca.pem"
    bundle.write_text(Path(certifi.where()).read_text())
    return {"default": True, "file": str(bundle), "folder": str(tmp_path)}


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
        assert [getattr(pool, name) for name in TRUST_ATTRIBUTES] == [
            getattr(expected, name) for name in TRUST_ATTRIBUTES
        ]


def test_a_missing_bundle_still_fails_the_request(tmp_path: Path) -> None:
    with pytest.raises(OSError, match="invalid path"):
        CheckedOnceAdapter().cert_verify(
            HTTPSConnectionPool("acct.queue.test"),
            "https://acct.queue.test/",
            str(tmp_path / "missing.pem"),
            None,
        )


def test_the_twilio_pools_keep_their_sizes(plain_env: pytest.MonkeyPatch, configure: Any) -> None:
    configure()
    session = twilio_gateway.get_client().http_client.session
    assert session.get_adapter("https://api.twilio.com/")._pool_maxsize == TWILIO_POOL_SIZE
    assert session.get_adapter("http://127.0.0.1:9/")._pool_maxsize == DEFAULT_POOLSIZE
