"""`StorageTransport` over real sockets: the SDK operations the app and the host stand-in use, on
real Azurite; and each network failure (refused, no answer, answer cut off, a pooled connection
the server closed) as the SDK's retry policy needs to see it, from small loopback servers."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.core import MatchConditions
from azure.core.exceptions import (
    ResourceModifiedError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.rest import HttpRequest
from azure.data.tables import TableClient, UpdateMode

from shared.storage_connection import ConnectionString, queue_client, table_service_client
from shared.storage_transport import StoragePools, StorageTransport

# The app's own timeouts (shared/app_services.py): Azurite on a loaded machine can pause for
# seconds, and a POST whose answer timed out is not retried.
TIMEOUTS: dict[str, Any] = {"connection_timeout": 5, "read_timeout": 20}
ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
    b"Connection: keep-alive\r\n\r\n{}"
)


def test_the_app_s_table_and_queue_operations_on_azurite(
    plain_env: pytest.MonkeyPatch, storage_connection_string: str
) -> None:
    connection = ConnectionString(storage_connection_string)
    name = f"transport{uuid.uuid4().hex[:10]}"
    table = table_service_client(connection, **TIMEOUTS).create_table(name)
    written = table.create_entity({"PartitionKey": "p", "RowKey": "~state", "status": "queued"})
    table.submit_transaction(
        [
            (
                "update",
                {"PartitionKey": "p", "RowKey": "~state", "status": "sent"},
                {
                    "mode": UpdateMode.MERGE,
                    "etag": written["etag"],
                    "match_condition": MatchConditions.IfNotModified,
                },
            ),
            ("create", {"PartitionKey": "p", "RowKey": "h1", "status": "sent"}),
        ]
    )
    rows = table.query_entities("PartitionKey eq @pk", parameters={"pk": "p"})
    assert sorted((row["RowKey"], row["status"]) for row in rows) == [
        ("h1", "sent"),
        ("~state", "sent"),
    ]
    with pytest.raises(ResourceModifiedError):  # 412: the batch changed the row
        table.update_entity(
            {"PartitionKey": "p", "RowKey": "~state", "status": "x"},
            etag=written["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
    with pytest.raises(ResourceNotFoundError):
        table.get_entity("p", "absent")

    queue = queue_client(connection, name, **TIMEOUTS)
    queue.create_queue()  # a PUT without a body
    queue.send_message("hello")
    (message,) = queue.receive_messages(max_messages=5, visibility_timeout=30)
    updated = queue.update_message(message, visibility_timeout=0, content="again")
    (again,) = queue.receive_messages(max_messages=5)
    assert (again.id, again.content) == (updated.id, "again")
    queue.delete_message(again)
    assert queue.peek_messages() == []


@pytest.fixture
def loopback_server() -> Iterator[Callable[[Callable[[socket.socket], None]], int]]:
    """Serves each accepted connection with a handler on a thread; gives its port."""
    listeners: list[socket.socket] = []

    def serve(handle: Callable[[socket.socket], None]) -> int:
        listener = socket.create_server(("127.0.0.1", 0))
        listeners.append(listener)

        def accept() -> None:
            while True:
                try:
                    connection, _ = listener.accept()
                except OSError:
                    return
                threading.Thread(target=handle, args=(connection,), daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return int(listener.getsockname()[1])

    yield serve
    for listener in listeners:
        listener.close()


def _read_request(connection: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


def _table(port: int, retries: int = 0, read_timeout: float = 20) -> TableClient:
    connection = ConnectionString(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
        f"K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:{port}/devstoreaccount1"
    )
    service = table_service_client(
        connection,
        connection_timeout=5,
        read_timeout=read_timeout,
        retry_total=retries,
        retry_backoff_factor=0,
    )
    return service.get_table_client("t")


def test_a_refused_connection_is_a_request_error(plain_env: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    with pytest.raises(ServiceRequestError):
        _table(port).get_entity("p", "r")


def test_no_answer_in_time_is_a_response_timeout(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    release = threading.Event()

    def silent(connection: socket.socket) -> None:
        _read_request(connection)
        release.wait(10)
        connection.close()

    port = loopback_server(silent)
    try:
        with pytest.raises(ServiceResponseTimeoutError):
            _table(port, read_timeout=0.3).get_entity("p", "r")
    finally:
        release.set()


def test_an_answer_cut_off_is_a_response_error_which_the_sdk_retries_for_a_read(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    served = []

    def cut_then_answer(connection: socket.socket) -> None:
        _read_request(connection)
        served.append(connection)
        if len(served) == 1:
            connection.sendall(ANSWER.replace(b"Content-Length: 2", b"Content-Length: 90"))
        else:
            connection.sendall(ANSWER)
        connection.close()

    port = loopback_server(cut_then_answer)
    with pytest.raises(ServiceResponseError):
        _table(port).get_entity("p", "r")
    served.clear()
    # With retries, the GET is sent again and its answer read.
    _table(port, retries=2).get_entity("p", "r")
    assert len(served) == 2


def test_a_pooled_connection_the_server_closed_is_not_reused(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    connections = []
    closed = threading.Event()

    def answer_once_then_close(connection: socket.socket) -> None:
        connections.append(connection)
        _read_request(connection)
        connection.sendall(ANSWER)  # says keep-alive, then closes
        connection.close()
        closed.set()

    port = loopback_server(answer_once_then_close)
    table = _table(port)  # no retries: the second GET must succeed by itself
    table.get_entity("p", "r")
    # The close has happened (as an idle connection's would, long before the next request).
    assert closed.wait(5)
    time.sleep(0.05)
    table.get_entity("p", "r")
    assert len(connections) == 2


def test_transports_share_the_pools_connections(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    connections = []

    def keep_alive(connection: socket.socket) -> None:
        connections.append(connection)
        while _read_request(connection):
            connection.sendall(ANSWER)

    port = loopback_server(keep_alive)
    pools = StoragePools()
    for _ in range(3):
        response = StorageTransport(pools=pools).send(
            HttpRequest("GET", f"http://127.0.0.1:{port}/x")
        )
        assert response.json() == {}
    assert len(connections) == 1
    pools.clear()


def _client_via(proxy_env: str, endpoint: str, plain_env: pytest.MonkeyPatch) -> TableClient:
    plain_env.setenv("HTTP_PROXY", proxy_env)
    plain_env.setenv("HTTPS_PROXY", proxy_env)
    connection = ConnectionString(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
        f"K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint={endpoint}"
    )
    service = table_service_client(connection, retry_total=0, **TIMEOUTS)
    return service.get_table_client("t")


def test_the_environments_proxy_gets_each_request_with_its_credentials_as_requests_sends_them(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    heads: list[bytes] = []

    def proxy(connection: socket.socket) -> None:
        heads.append(_read_request(connection))
        if heads[-1].startswith(b"CONNECT "):
            connection.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")
        else:
            connection.sendall(ANSWER)
        connection.close()

    port = loopback_server(proxy)
    # No scheme: an http proxy, as `requests` reads HTTP_PROXY (the endpoint is never resolved).
    _client_via(f"127.0.0.1:{port}", "http://storage.test/acct", plain_env).get_entity("p", "r")
    # Credentials in the URL: Basic proxy authorization, for a forwarded request and a tunnel.
    with_user = f"http://us%40er:p%3Ass@127.0.0.1:{port}"
    _client_via(with_user, "http://storage.test/acct", plain_env).get_entity("p", "r")
    with pytest.raises(ServiceRequestError):  # the proxy refused the tunnel
        _client_via(with_user, "https://storage.test/acct", plain_env).get_entity("p", "r")
    plain, forwarded, tunnel = heads
    assert plain.startswith(b"GET http://storage.test/acct/t(PartitionKey='p',RowKey='r') ")
    assert b"proxy-authorization" not in _headers(plain)
    assert forwarded.startswith(b"GET http://storage.test/acct/t(PartitionKey='p',RowKey='r') ")
    assert tunnel.startswith(b"CONNECT storage.test:443 ")
    for head in (forwarded, tunnel):
        assert _headers(head).get(b"proxy-authorization") == b"Basic dXNAZXI6cDpzcw=="


def _headers(head: bytes) -> dict[bytes, bytes]:
    lines = head.split(b"\r\n\r\n")[0].split(b"\r\n")[1:]
    return {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(b":") for line in lines)
    }


def test_a_text_body_arrives_whole_and_the_connection_stays_in_step(
    plain_env: pytest.MonkeyPatch,
    loopback_server: Callable[[Callable[[socket.socket], None]], int],
) -> None:
    received: list[tuple[bytes, bytes]] = []

    def keep_alive(connection: socket.socket) -> None:
        data = b""
        while True:
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\r\n\r\n")
            length = int(_headers(head + b"\r\n\r\n").get(b"content-length", b"0"))
            while len(data) < length:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                data += chunk
            received.append((head.split(b"\r\n")[0], data[:length]))
            data = data[length:]
            connection.sendall(ANSWER)

    port = loopback_server(keep_alive)
    transport = StorageTransport(pools=StoragePools(), **TIMEOUTS)
    text = '{"body": "d\u00e9j\u00e0 vu \u2713"}'
    transport.send(HttpRequest("PUT", f"http://127.0.0.1:{port}/x", content=text))
    transport.send(HttpRequest("GET", f"http://127.0.0.1:{port}/y"))
    assert received == [(b"PUT /x HTTP/1.1", text.encode()), (b"GET /y HTTP/1.1", b"")]
