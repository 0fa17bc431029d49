"""Every URL the app gives Twilio: the status callback (it carries the request id, `rid`, and
the channel), the TwiML URL of a script call (optionally continuing at a step), and Twilio's
connection overrides in the fragment of a webhook URL.

Connection overrides (`#ct=…&rt=…&tt=…&rc=…&rp=…`) tell Twilio how long to wait for the app and
how often to retry a webhook that failed. Twilio's default is one retry, and only of a connection
that failed: a callback sent while the app restarts (slot swap, scale-in, cold start) is then lost.
The fragment never reaches the app and is not part of the signed URL (Twilio signs the URL from
the scheme through the end of the query string), so the signature check is unchanged.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

STATUS_CALLBACK_PATH = "/api/status_callback"
TWIML_VOICE_PATH = "/api/twiml_voice"

# Status callbacks: 2 s to connect, 5 s to answer (a callback is a few storage requests), 15 s
# for all attempts (Twilio's maximum), 3 retries (Twilio allows 0-5) of connection failures,
# read timeouts and 5xx answers (the app answers 500 when storage fails; 4xx, e.g. a bad
# signature, never improves with a retry). A repeated callback is recognised and recorded once.
STATUS_CALLBACK_OVERRIDES = "ct=2000&rt=5000&tt=15000&rc=3&rp=ct,rt,5xx"
# The first TwiML fetch of a script call: a caller is waiting, so fewer and shorter attempts.
TWIML_OVERRIDES = "ct=2000&rt=5000&tt=10000&rc=2&rp=ct,rt,5xx"


def with_connection_overrides(url: str, overrides: str) -> str:
    """`url` with Twilio's connection overrides `overrides` as its fragment."""
    return f"{url.partition('#')[0]}#{overrides}"


def status_callback_url(
    public_base_url: str, request_id: str, channel: Literal["sms", "call"]
) -> str:
    """`{PUBLIC_BASE_URL}/api/status_callback?rid=<id>&channel=sms|call#<overrides>`."""
    url = _app_url(public_base_url, STATUS_CALLBACK_PATH, {"rid": request_id, "channel": channel})
    return with_connection_overrides(url, STATUS_CALLBACK_OVERRIDES)


def twiml_voice_url(public_base_url: str, rid: str, step: int | None = None) -> str:
    """`{PUBLIC_BASE_URL}/api/twiml_voice?rid=<id>[&step=<i>]`: the TwiML of request `rid`,
    optionally continuing at script step `step`. Without overrides: a call's first TwiML URL
    gets `TWIML_OVERRIDES` from its sender."""
    query: dict[str, str | int] = {"rid": rid}
    if step is not None:
        query["step"] = step
    return _app_url(public_base_url, TWIML_VOICE_PATH, query)


def _app_url(public_base_url: str, path: str, query: dict[str, str | int]) -> str:
    return f"{public_base_url.rstrip('/')}{path}?{urlencode(query)}"
