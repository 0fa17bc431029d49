"""A counting reverse proxy in front of Azurite's queue or table port, on loopback.

The app under test is given the proxy's ports in its connection string; every request it makes is
forwarded to Azurite unchanged (raw path and query, headers, body: the shared-key signature does
not cover the Host header) and counted under an operation name read from the request itself
(method, path, query, headers) and the answer's status, e.g. `table: get entity (404)`,
`table: merge`, `queue: delete message`. Counting happens outside the app, so what the app
claims about itself plays no part.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

Service = Literal["queue", "table"]
# (operation, resource): the resource is the queue or table name ("" for account-level calls).
RequestKey = tuple[str, str]

# Hop-by-hop and length headers are the proxy's own business on each leg.
_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)
# `table(PartitionKey='a',RowKey='b')`, `table()` or `table`.
_TABLE_RESOURCE = re.compile(r"^(?P<table>[^(/]+)(?P<keys>\(.*\))?$")
# Statuses an operation answers when it did what it was asked; others are named in the label.
_SUCCESS = range(200, 300)


def _labelled(operation: str, status: int) -> str:
    return operation if status in _SUCCESS else f"{operation} ({status})"


def classify_queue(method: str, segments: list[str], query: Mapping[str, str]) -> RequestKey:
    """The queue-service operation of a request on `/<account>/<segments…>`."""
    if not segments or not segments[0]:
        return f"queue: {method} account", ""
    queue = segments[0]
    if len(segments) == 1:
        comp = query.get("comp", "")
        if method == "PUT" and not comp:
            return "queue: create queue", queue
        if method == "DELETE":
            return "queue: delete queue", queue
        if comp == "metadata":
            return "queue: get properties" if method in (
                "GET",
                "HEAD",
            ) else "queue: set metadata", (queue)
        return f"queue: {method} {comp or 'queue'}", queue
    if segments[1] != "messages":
        return f"queue: {method} {'/'.join(segments[1:])}", queue
    if len(segments) == 2:
        if method == "POST":
            return "queue: put message", queue
        if method == "GET":
            peek = query.get("peekonly", "").lower() == "true"
            return ("queue: peek messages" if peek else "queue: get messages"), queue
        if method == "DELETE":
            return "queue: clear messages", queue
    elif method == "DELETE":
        return "queue: delete message", queue
    elif method == "PUT":
        return "queue: update message", queue
    return f"queue: {method} messages", queue


def classify_table(method: str, segments: list[str], headers: Mapping[str, str]) -> RequestKey:
    """The table-service operation of a request on `/<account>/<segments…>`."""
    resource = "/".join(segments)
    if resource == "$batch":
        return "table: batch", ""
    if resource.startswith("Tables"):
        operation = {"POST": "create table", "DELETE": "delete table"}.get(method, "query tables")
        return f"table: {operation}", ""
    match = _TABLE_RESOURCE.match(resource)
    if match is None:
        return f"table: {method} {resource}", ""
    table, keys = match["table"], match["keys"]
    has_keys = bool(keys) and keys != "()"
    conditional = "if-match" in {name.lower() for name in headers}
    tunnelled = {name.lower(): value for name, value in headers.items()}.get("x-http-method", "")
    if method == "POST" and tunnelled.upper() == "MERGE":
        method = "MERGE"
    if method == "GET":
        return ("table: get entity" if has_keys else "table: query entities"), table
    if method == "POST" and not has_keys:
        return "table: insert entity", table
    if method in ("PATCH", "MERGE"):
        return ("table: merge" if conditional else "table: upsert (merge)"), table
    if method == "PUT":
        return ("table: replace" if conditional else "table: upsert (replace)"), table
    if method == "DELETE":
        return "table: delete entity", table
    return f"table: {method} entity", table


def classify(
    service: Service,
    method: str,
    path: str,
    query: Mapping[str, str],
    headers: Mapping[str, str],
    status: int,
) -> RequestKey:
    """(operation label, resource) of one storage request and its answer's status.

    `path` is the decoded request path, `/<account>/…` as the SDKs send it to Azurite."""
    segments = path.strip("/").split("/")[1:]
    method = method.upper()
    if service == "queue":
        operation, resource = classify_queue(method, segments, query)
    else:
        operation, resource = classify_table(method, segments, headers)
    return _labelled(operation, status), resource


@dataclass
class RequestLog:
    """Counts per (operation, resource), and when each key was first seen (wall clock)."""

    counts: Counter[RequestKey] = field(default_factory=Counter)
    first_seen: dict[RequestKey, float] = field(default_factory=dict)

    def add(self, key: RequestKey) -> None:
        """Count one request."""
        self.counts[key] += 1
        self.first_seen.setdefault(key, time.time())

    def snapshot(self) -> Counter[RequestKey]:
        """A copy of the counts now (subtract two snapshots for a phase's requests)."""
        return Counter(self.counts)

    async def wait_for(self, key: RequestKey, count: int, within: float) -> None:
        """Return once `key` was counted `count` times; TimeoutError after `within` seconds."""
        deadline = time.monotonic() + within
        while self.counts[key] < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{key[0]} on {key[1]!r}: {self.counts[key]} of {count} after {within:.0f}s"
                )
            await asyncio.sleep(0.05)


class CountingProxy:
    """One loopback listener forwarding to one Azurite port, counting into a shared log."""

    def __init__(self, service: Service, upstream_port: int, log: RequestLog) -> None:
        self.service = service
        self.upstream = f"http://127.0.0.1:{upstream_port}"
        self.log = log
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> int:
        """Listen on a free loopback port; return it."""
        self._session = aiohttp.ClientSession(
            auto_decompress=False,
            skip_auto_headers={"User-Agent", "Accept-Encoding", "Content-Type"},
            timeout=aiohttp.ClientTimeout(total=60),
            connector=aiohttp.TCPConnector(limit=0),
        )
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Stop listening and close the upstream connections."""
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        if "Content-Length" in request.headers:
            # Signed by the SDK (as "" when 0): forward exactly what it sent.
            headers["Content-Length"] = request.headers["Content-Length"]
        url = URL(self.upstream + request.raw_path, encoded=True)
        async with self._session.request(
            request.method, url, headers=headers, data=body or None, allow_redirects=False
        ) as answer:
            payload = await answer.read()
            status = answer.status
            reply_headers = [
                (k, v) for k, v in answer.headers.items() if k.lower() not in _HOP_HEADERS
            ]
        self.log.add(
            classify(
                self.service,
                request.method,
                request.path,
                request.query,
                request.headers,
                status,
            )
        )
        return web.Response(status=status, body=payload, headers=CIMultiDict(reply_headers))
