"""Hold Twilio's status callbacks back, then deliver them to the functions host when told.

The counted app's `PUBLIC_BASE_URL` points at `CallbackSink`, so the emulator's signed callbacks
land here (answered 204, kept in arrival order) instead of at the host: the send path is then
measured alone. `post_callback` later delivers a kept callback to the host, byte for byte with
its signature and idempotency token, or signed afresh for another host's public URL.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

import aiohttp
from aiohttp import web
from twilio.request_validator import RequestValidator
from yarl import URL

SIGNATURE_HEADER = "X-Twilio-Signature"
IDEMPOTENCY_HEADER = "I-Twilio-Idempotency-Token"


@dataclass(frozen=True)
class CapturedCallback:
    """One status callback as the emulator sent it."""

    path_qs: str  # raw path and query, e.g. /api/status_callback?rid=…&channel=sms
    body: bytes
    content_type: str
    signature: str
    idempotency_token: str

    @property
    def request_id(self) -> str:
        """The `rid` the app put in its callback URL."""
        return dict(parse_qsl(urlsplit(self.path_qs).query)).get("rid", "")

    @property
    def params(self) -> dict[str, str]:
        """The form fields."""
        return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))


class CallbackSink:
    """A loopback HTTP endpoint that keeps every POST it gets and answers 204."""

    def __init__(self) -> None:
        self.captured: list[CapturedCallback] = []
        self.base_url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> str:
        """Listen on a free loopback port; return the base URL."""
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._keep)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _keep(self, request: web.Request) -> web.Response:
        self.captured.append(
            CapturedCallback(
                path_qs=request.raw_path,
                body=await request.read(),
                content_type=request.headers.get("Content-Type", ""),
                signature=request.headers.get(SIGNATURE_HEADER, ""),
                idempotency_token=request.headers.get(IDEMPOTENCY_HEADER, ""),
            )
        )
        return web.Response(status=204)

    async def wait_for(self, count: int, within: float) -> None:
        """Return once `count` callbacks were kept; TimeoutError after `within` seconds."""
        deadline = time.monotonic() + within
        while len(self.captured) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{len(self.captured)} of {count} status callbacks after {within:.0f}s"
                )
            await asyncio.sleep(0.05)

    def by_request(self) -> dict[str, list[CapturedCallback]]:
        """The kept callbacks per request id, each request's in arrival order."""
        grouped: dict[str, list[CapturedCallback]] = defaultdict(list)
        for callback in self.captured:
            grouped[callback.request_id].append(callback)
        return dict(grouped)


def resigned(callback: CapturedCallback, auth_token: str, public_base_url: str) -> str:
    """The `X-Twilio-Signature` Twilio would send for `callback` to `public_base_url`."""
    validator = RequestValidator(auth_token)
    return str(validator.compute_signature(public_base_url + callback.path_qs, callback.params))


async def post_callback(
    http: aiohttp.ClientSession,
    host_url: str,
    callback: CapturedCallback,
    signature: str | None = None,
) -> tuple[int, float]:
    """POST `callback` to the host at `host_url` (with `signature` instead of the kept one when
    given); return the answer's status and the seconds until its body was read."""
    headers = {
        "Content-Type": callback.content_type or "application/x-www-form-urlencoded",
        SIGNATURE_HEADER: signature or callback.signature,
        IDEMPOTENCY_HEADER: callback.idempotency_token,
        "User-Agent": "TwilioProxy/1.1",
    }
    started = time.perf_counter()
    url = URL(host_url + callback.path_qs, encoded=True)
    async with http.post(url, data=callback.body, headers=headers) as answer:
        await answer.read()
        return answer.status, time.perf_counter() - started
