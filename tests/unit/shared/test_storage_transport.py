"""`StorageTransport`: what it hands its pools (method, URL, body, headers, timeouts, trust, the
proxy for the URL's scheme), the azure-core response it makes of an answer, the azure-core error
of each urllib3 failure; `StoragePools`: one manager per proxy and trust setting. Pools that
record stand in for the network here; tests/integration/app/test_storage_transport.py sends."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import certifi
import pytest
import urllib3
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)

from shared.storage_transport import (
    StoragePools,
    StorageResponse,
    StorageTransport,
    proxy_for,
    service_error,
    trust_keywords,
)
from tests.fakes.storage_pools import RecordingPools

URL = "https://acct.table.core.windows.net/deliveries"
PROXY = "http://proxy.example.test:3128"


def test_a_request_reaches_the_pools_as_the_sdk_built_it() -> None:
    pools = RecordingPools(body=b'{"a": 1}')
    transport = StorageTransport(connection_timeout=4, read_timeout=17, pools=pools)
    request = HttpRequest("POST", URL, headers={"x-ms-version": "2019-02-02"}, content=b"{}")
    transport.send(request)
    (call,) = pools.sent
    assert asdict(call) == {
        "method": "POST",
        "url": URL,
        "body": b"{}",
        "headers": {"Content-Length": "2", "x-ms-version": "2019-02-02"},
        "timeout": (4, 17),
        "proxy": None,
        "verify": True,
        "cert": None,
    }


def test_per_call_options_win_over_the_transports() -> None:
    pools = RecordingPools()
    transport = StorageTransport(
        connection_timeout=4, read_timeout=17, connection_verify="/ca.pem", pools=pools
    )
    transport.send(
        HttpRequest("GET", URL),
        connection_timeout=1,
        read_timeout=2,
        connection_verify=False,
        connection_cert=("c.pem", "k.pem"),
    )
    (call,) = pools.sent
    assert (call.timeout, call.verify, call.cert) == ((1, 2), False, ("c.pem", "k.pem"))


def test_the_proxy_policys_proxies_choose_the_proxy_for_the_urls_scheme() -> None:
    pools = RecordingPools()
    transport = StorageTransport(pools=pools)
    transport.send(HttpRequest("GET", URL), proxies={"https": PROXY, "http": "http://other:1"})
    transport.send(HttpRequest("GET", URL), proxies={"all": PROXY})
    transport.send(HttpRequest("GET", URL), proxies={"http": PROXY})
    assert [call.proxy for call in pools.sent] == [PROXY, PROXY, None]


@pytest.mark.parametrize(
    ("proxies", "url", "expected"),
    [
        (None, URL, None),
        ({}, URL, None),
        ({"https": PROXY}, URL, PROXY),
        ({"HTTPS": PROXY}, URL, None),  # keys are lower case, as `requests` writes them
        ({"http": PROXY}, "http://127.0.0.1:10002/devstoreaccount1", PROXY),
        ({"all": PROXY, "https": "http://first:1"}, URL, "http://first:1"),
        ({"https": ""}, URL, None),
        # Without a scheme, `requests` takes a proxy (e.g. HTTPS_PROXY=proxy:3128) for http.
        ({"https": "proxy.example.test:3128"}, URL, "http://proxy.example.test:3128"),
        ({"http": "127.0.0.1:3128"}, "http://127.0.0.1:10002/a", "http://127.0.0.1:3128"),
        ({"https": "https://proxy.example.test"}, URL, "https://proxy.example.test"),
    ],
)
def test_proxy_for(proxies: dict[str, str] | None, url: str, expected: str | None) -> None:
    assert proxy_for(url, proxies) == expected


def test_the_answer_becomes_an_azure_core_response_read_whole() -> None:
    pools = RecordingPools(status=201, body=b'{"PartitionKey": "p"}')
    response = StorageTransport(pools=pools).send(HttpRequest("POST", URL, content=b"{}"))
    assert (response.status_code, response.reason) == (201, "Reason")
    assert response.headers["etag"] == response.headers["ETag"] == 'W/"1"'
    assert response.content_type == "application/json"
    assert response.content == response.read() == response.body() == b'{"PartitionKey": "p"}'
    assert response.json() == {"PartitionKey": "p"}
    assert b"".join(response.iter_bytes()) == b'{"PartitionKey": "p"}'
    assert response.is_closed


def test_a_header_the_answer_repeats_keeps_every_value_as_requests_joins_them() -> None:
    headers = urllib3.HTTPHeaderDict()
    for name, value in (("Vary", "Origin"), ("vary", "Accept"), ("ETag", 'W/"1"')):
        headers.add(name, value)
    answer = urllib3.HTTPResponse(body=b"", status=200, headers=headers, preload_content=True)
    response = StorageResponse(HttpRequest("GET", URL), answer)
    assert response.headers["Vary"] == "Origin, Accept"
    assert response.headers["etag"] == 'W/"1"'


def test_a_text_body_goes_as_utf8_with_its_length_in_bytes() -> None:
    # azure-core counts a str body's characters for Content-Length; the bytes sent are UTF-8
    # (a length short of them would leave bytes on the connection for the next request).
    pools = RecordingPools()
    text = '{"body": "d\u00e9j\u00e0 vu \u2713"}'
    request = HttpRequest("PUT", URL, content=text)
    assert request.headers["Content-Length"] == str(len(text)) == "21"
    StorageTransport(pools=pools).send(request)
    (call,) = pools.sent
    assert call.body == text.encode()
    assert call.headers["Content-Length"] == str(len(text.encode())) == "25"
    assert [name.lower() for name in call.headers].count("content-length") == 1
    assert request.headers["Content-Length"] == "21"  # the SDK's request is left as it was


def test_an_answer_asked_for_as_a_stream_is_read_whole_too() -> None:
    # The tables SDK asks for a batch's answer as a stream, then reads it whole.
    pools = RecordingPools(body=b"--batch--")
    response = StorageTransport(pools=pools).send(HttpRequest("POST", URL), stream=True)
    assert b"".join(response.iter_bytes()) == response.read() == b"--batch--"


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (NewConnectionError(None, "refused"), ServiceRequestError),  # type: ignore[arg-type]
        (ConnectTimeoutError("connect timed out"), ServiceRequestTimeoutError),
        (SSLError("bad certificate"), ServiceRequestError),
        (ProxyError("proxy refused", OSError()), ServiceRequestError),
        # A pool closed under a request (urllib3 closes its least recently used one past ten
        # hosts, `StoragePools.clear()` every one): not sent, as `requests` maps it.
        (ClosedPoolError(None, "closed"), ServiceRequestError),  # type: ignore[arg-type]
        (ReadTimeoutError(None, URL, "read timed out"), ServiceResponseTimeoutError),  # type: ignore[arg-type]
        (ProtocolError("reset", ConnectionResetError()), ServiceResponseError),
        (HTTPError("anything else"), ServiceResponseError),
    ],
)
def test_each_urllib3_failure_is_the_azure_core_error_the_retry_policy_expects(
    error: HTTPError, expected: type[Exception]
) -> None:
    with pytest.raises(expected) as raised:
        StorageTransport(pools=RecordingPools(error=error)).send(HttpRequest("GET", URL))
    assert type(raised.value) is expected
    assert raised.value.__cause__ is error
    assert type(service_error(error)) is expected


def test_a_request_timeout_is_a_request_error_and_a_read_timeout_a_response_error() -> None:
    # The retry policies count a timeout against its kind's budget (`retry_connect`,
    # `retry_read`), by these classes.
    assert issubclass(ServiceRequestTimeoutError, ServiceRequestError)
    assert issubclass(ServiceResponseTimeoutError, ServiceResponseError)


def test_closing_a_transport_leaves_the_shared_pools_in_use() -> None:
    pools = RecordingPools()
    with StorageTransport(pools=pools) as transport:
        transport.send(HttpRequest("GET", URL))
    transport.close()
    StorageTransport(pools=pools).send(HttpRequest("GET", URL))
    assert len(pools.sent) == 2


def test_trust_keywords_map_verify_and_cert_as_requests_does(tmp_path: Path) -> None:
    bundle, folder = tmp_path / "ca.pem", tmp_path / "certs"
    bundle.write_text("")
    folder.mkdir()
    assert trust_keywords(True, None) == {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
    assert trust_keywords(False, None) == {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    assert trust_keywords(str(bundle), "client.pem") == {
        "cert_reqs": "CERT_REQUIRED",
        "ca_certs": str(bundle),
        "cert_file": "client.pem",
    }
    assert trust_keywords(str(folder), ("c.pem", "k.pem")) == {
        "cert_reqs": "CERT_REQUIRED",
        "ca_cert_dir": str(folder),
        "cert_file": "c.pem",
        "key_file": "k.pem",
    }


def test_one_manager_per_proxy_and_trust_setting_made_once() -> None:
    pools = StoragePools(pool_size=5)
    direct = pools.manager(None, True, None)
    assert pools.manager(None, True, None) is direct
    assert type(direct) is urllib3.PoolManager
    assert direct.connection_pool_kw["maxsize"] == 5
    proxied = pools.manager(PROXY, True, None)
    assert isinstance(proxied, urllib3.ProxyManager)
    assert proxied.proxy is not None
    assert proxied.proxy.url == PROXY
    assert "proxy-authorization" not in proxied.proxy_headers
    unchecked = pools.manager(None, False, None)
    assert len({id(direct), id(proxied), id(unchecked)}) == 3
    assert unchecked.connection_pool_kw["cert_reqs"] == "CERT_NONE"
    pools.clear()
    assert pools.manager(None, True, None) is not direct


@pytest.mark.parametrize(
    ("proxy", "expected"),
    [
        # As `requests` sends them: the URL's user and password, %-decoded, as Basic credentials.
        ("http://us%40er:p%3Ass@proxy.example.test:3128", "Basic dXNAZXI6cDpzcw=="),
        ("http://user:@proxy.example.test:3128", "Basic dXNlcjo="),
        ("http://user@proxy.example.test:3128", None),
        (PROXY, None),
    ],
)
def test_a_proxy_urls_credentials_become_its_proxy_authorization(
    proxy: str, expected: str | None
) -> None:
    manager = StoragePools().manager(proxy, True, None)
    assert isinstance(manager, urllib3.ProxyManager)
    assert manager.proxy_headers.get("proxy-authorization") == expected
