"""Outgoing webhooks, signed like Twilio's: status callbacks (POST or GET) and TwiML fetches.

Every request carries `X-Twilio-Signature` (HMAC-SHA1 over the URL plus the sorted POST params,
keyed with the auth token, computed by twilio's own `RequestValidator`) and an
`I-Twilio-Idempotency-Token` that stays the same across retries and duplicates. As on Twilio, the
signed URL has no `user:password@`, and voice webhooks (calls) over HTTPS are signed without the
port; credentials in the URL are sent only after the endpoint answers a 401 Basic challenge.
Failures are retried per Twilio's connection overrides in the URL fragment
(`#ct=…&rt=…&tt=…&rc=…&rp=…`); every attempt is recorded for the inspection API. Status callbacks
of one resource are delivered one after the other (in order) unless the out-of-order or duplicate
fault fires.
"""

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

import aiohttp
import yarl
from twilio.request_validator import RequestValidator

from emulators.twilio_api.background import Background
from emulators.twilio_api.clock import rfc2822, utc_now
from emulators.twilio_api.faults import Faults

BODY_LIMIT = 4000  # characters of each answer kept in the delivery log


@dataclass(frozen=True)
class ConnectionOverrides:
    """Twilio's webhook connection settings; defaults as Twilio documents them (ms, retries)."""

    connect_timeout_ms: int = 5000
    read_timeout_ms: int = 15000
    total_time_ms: int = 15000
    retry_count: int = 1
    # Which failures are retried: ct (connect), rt (read timeout), 4xx, 5xx, all.
    retry_policy: frozenset[str] = frozenset({"ct", "rt", "5xx"})

    @classmethod
    def from_fragment(cls, fragment: str) -> "ConnectionOverrides":
        """Read `ct`, `rt`, `tt`, `rc`, `rp` from a URL fragment, clamped to Twilio's ranges."""
        values = dict(parse_qsl(fragment))
        defaults = cls()

        def clamp(key: str, default: int, low: int, high: int) -> int:
            try:
                return min(high, max(low, int(values[key])))
            except (KeyError, ValueError):
                return default

        policy = defaults.retry_policy
        if "rp" in values:
            policy = frozenset(p.strip() for p in values["rp"].split(",") if p.strip())
        return cls(
            connect_timeout_ms=clamp("ct", defaults.connect_timeout_ms, 100, 10000),
            read_timeout_ms=clamp("rt", defaults.read_timeout_ms, 100, 15000),
            total_time_ms=clamp("tt", defaults.total_time_ms, 100, 15000),
            retry_count=clamp("rc", defaults.retry_count, 0, 5),
            retry_policy=policy,
        )

    def retries(self, failure: str) -> bool:
        """Whether a failure of kind `ct`, `rt`, `4xx` or `5xx` is retried."""
        return "all" in self.retry_policy or failure in self.retry_policy


@dataclass
class Delivery:
    """One HTTP attempt at a webhook, as the inspection API shows it."""

    id: int
    kind: str  # "status_callback" or "twiml_fetch"
    resource_sid: str
    url: str
    method: str
    params: dict[str, str]
    signature: str
    idempotency_token: str
    attempt: int
    duplicate: bool
    at: str
    status: int | None = None
    body: str | None = None
    content_type: str | None = None
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """The endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form for the inspection API."""
        return asdict(self)


@dataclass(frozen=True)
class FetchResult:
    """What a webhook finally answered (after retries): status, body and content type."""

    status: int | None
    body: str
    content_type: str
    error: str | None

    @property
    def ok(self) -> bool:
        """The endpoint answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


class DeliveryLog:
    """Every webhook attempt, in the order they were made."""

    def __init__(self) -> None:
        self.entries: list[Delivery] = []
        self._next_id = 1

    def new_id(self) -> int:
        """A fresh delivery id."""
        value = self._next_id
        self._next_id += 1
        return value

    def clear(self) -> None:
        """Forget every delivery."""
        self.entries.clear()
        self._next_id = 1


class CallbackSender:
    """Signs, sends, retries and records Twilio's outgoing webhook requests."""

    def __init__(
        self,
        auth_token: str,
        faults: Faults,
        background: Background,
        log: DeliveryLog,
    ) -> None:
        self._auth_token = auth_token
        self._faults = faults
        self._background = background
        self.log = log
        self._session: aiohttp.ClientSession | None = None
        self._chains: dict[str, asyncio.Task[None]] = {}
        self._held: dict[str, list[tuple[str, dict[str, str], str, str]]] = {}

    async def start(self) -> None:
        """Open the one shared HTTP client session (call from the app's start-up)."""
        connector = aiohttp.TCPConnector(limit=200, limit_per_host=100)
        # Per-request timeouts come from each URL's connection overrides.
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=aiohttp.ClientTimeout(total=15)
        )

    async def close(self) -> None:
        """Close the HTTP client session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def reset(self) -> None:
        """Forget per-resource ordering state (tasks are cancelled by the Background owner)."""
        self._chains.clear()
        self._held.clear()

    def signature(self, url: str, params: dict[str, str]) -> str:
        """`X-Twilio-Signature` for a request to `url` with POST `params` ({} for GET)."""
        return str(RequestValidator(self._auth_token).compute_signature(url, params))

    def post_status(
        self, resource_sid: str, url: str, params: dict[str, str], method: str = "POST"
    ) -> None:
        """Queue a status callback for `resource_sid`; callbacks of one resource go out in order.

        The out-of-order fault holds this callback back until the resource's next one has been
        delivered; the duplicate fault sends it twice with the same idempotency token.
        """
        token = str(uuid.uuid4())
        item = (url, params, method.upper(), token)
        if self._faults.fire("out_of_order_callbacks"):
            self._held.setdefault(resource_sid, []).append(item)
            return
        batch = [item, *self._held.pop(resource_sid, [])]
        previous = self._chains.get(resource_sid)
        task = self._background.spawn(self._deliver_batch(previous, resource_sid, batch))
        self._chains[resource_sid] = task
        task.add_done_callback(lambda t: self._forget_chain(resource_sid, t))

    def flush(self, resource_sid: str) -> None:
        """Send callbacks still held back by the out-of-order fault (call when a life ends)."""
        held = self._held.pop(resource_sid, [])
        if held:
            previous = self._chains.get(resource_sid)
            task = self._background.spawn(self._deliver_batch(previous, resource_sid, held))
            self._chains[resource_sid] = task
            task.add_done_callback(lambda t: self._forget_chain(resource_sid, t))

    def _forget_chain(self, resource_sid: str, task: asyncio.Task[None]) -> None:
        if self._chains.get(resource_sid) is task:
            del self._chains[resource_sid]

    async def _deliver_batch(
        self,
        previous: asyncio.Task[None] | None,
        resource_sid: str,
        batch: list[tuple[str, dict[str, str], str, str]],
    ) -> None:
        if previous is not None:
            await asyncio.wait([previous])
        for url, params, method, token in batch:
            await self._send(resource_sid, "status_callback", url, params, method, token)
            if self._faults.fire("duplicate_callbacks"):
                await self._send(
                    resource_sid, "status_callback", url, params, method, token, duplicate=True
                )

    async def fetch(
        self, resource_sid: str, url: str, params: dict[str, str], method: str = "POST"
    ) -> FetchResult:
        """Fetch a webhook (e.g. TwiML) now, signed and retried, and return its final answer."""
        token = str(uuid.uuid4())
        return await self._send(resource_sid, "twiml_fetch", url, params, method.upper(), token)

    async def _send(
        self,
        resource_sid: str,
        kind: str,
        configured_url: str,
        params: dict[str, str],
        method: str,
        token: str,
        duplicate: bool = False,
    ) -> FetchResult:
        """Deliver with retries per the URL's connection overrides; record every attempt."""
        if self._session is None:
            raise RuntimeError("CallbackSender.start() was not called")
        configured = urlsplit(configured_url)
        overrides = ConnectionOverrides.from_fragment(configured.fragment)
        credentials = _credentials(configured)
        parts = configured._replace(netloc=configured.netloc.rpartition("@")[2], fragment="")
        headers = {"User-Agent": "TwilioProxy/1.1", "X-Home-Region": "us1"}
        body: bytes | None = None
        signed_params = params
        if method == "GET":
            # GET webhooks carry the params in the query string and sign the whole URL.
            parts = parts._replace(query="&".join(q for q in (parts.query, urlencode(params)) if q))
            signed_params = {}
        else:
            # Encoded once here (not per attempt, not through aiohttp's FormData) for speed.
            body = urlencode(params).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        url = urlunsplit(parts)
        signature = self.signature(
            _signed_url(parts, voice=resource_sid.startswith("CA")), signed_params
        )
        headers["X-Twilio-Signature"] = signature
        headers["I-Twilio-Idempotency-Token"] = token
        deadline = time.monotonic() + overrides.total_time_ms / 1000
        result = FetchResult(None, "", "", "not attempted")
        for attempt in range(1, overrides.retry_count + 2):
            remaining = deadline - time.monotonic()
            if attempt > 1 and remaining <= 0:
                break
            entry = Delivery(
                id=self.log.new_id(),
                kind=kind,
                resource_sid=resource_sid,
                url=url,
                method=method,
                params=dict(params),
                signature=signature,
                idempotency_token=token,
                attempt=attempt,
                duplicate=duplicate,
                at=rfc2822(utc_now()),
                headers=headers,
            )
            self.log.entries.append(entry)
            timeout = aiohttp.ClientTimeout(
                total=max(0.1, remaining),
                sock_connect=overrides.connect_timeout_ms / 1000,
                sock_read=overrides.read_timeout_ms / 1000,
            )
            failure: str | None = None
            try:
                response, text = await self._exchange(method, url, body, headers, timeout, None)
                if (
                    response.status == 401
                    and credentials
                    and "WWW-Authenticate" in response.headers
                ):
                    # Twilio answers the Basic challenge with the URL's user:password.
                    response, text = await self._exchange(
                        method, url, body, headers, timeout, credentials
                    )
                entry.status = response.status
                entry.body = text[:BODY_LIMIT]
                entry.content_type = response.headers.get("Content-Type", "")
                result = FetchResult(response.status, text, entry.content_type, None)
                if 400 <= response.status < 500:
                    failure = "4xx"
                elif response.status >= 500:
                    failure = "5xx"
            except aiohttp.ConnectionTimeoutError as error:
                entry.error = f"connect timeout: {error!r}"
                failure = "ct"
                result = FetchResult(None, "", "", entry.error)
            except (aiohttp.ServerTimeoutError, TimeoutError) as error:
                entry.error = f"timeout: {error!r}"
                failure = "rt"
                result = FetchResult(None, "", "", entry.error)
            except aiohttp.ClientError as error:
                entry.error = f"connection failed: {error!r}"
                failure = "ct"
                result = FetchResult(None, "", "", entry.error)
            if failure is None or not overrides.retries(failure):
                return result
        return result

    async def _exchange(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        limits: aiohttp.ClientTimeout,
        authorization: str | None,
    ) -> tuple[aiohttp.ClientResponse, str]:
        """One HTTP request (with `authorization` as its Authorization header, if given); the
        response (released) and its text."""
        assert self._session is not None
        if authorization is not None:
            # A copy: `headers` is also the delivery log's record, which keeps no credentials.
            headers = {**headers, "Authorization": authorization}
        async with self._session.request(
            method,
            # encoded=True: send the URL byte for byte as signed (yarl would re-quote it).
            yarl.URL(url, encoded=True),
            data=body,
            headers=headers,
            timeout=limits,
            allow_redirects=False,
        ) as response:
            return response, await response.text(errors="replace")


def _credentials(parts: SplitResult) -> str | None:
    """The Basic Authorization header value for the `user:password@` of a webhook URL, for
    answering a Basic challenge (aiohttp 3.14 deprecates `BasicAuth` for this helper)."""
    if parts.username is None:
        return None
    return aiohttp.encode_basic_auth(unquote(parts.username), unquote(parts.password or ""))


def _signed_url(parts: SplitResult, voice: bool) -> str:
    """The URL Twilio signs: without credentials (already gone from `parts`) and, for voice
    webhooks over HTTPS, without the port."""
    if voice and parts.scheme == "https" and parts.port is not None:
        parts = parts._replace(netloc=parts.netloc.removesuffix(f":{parts.port}"))
    return urlunsplit(parts)
