"""The URLs the app gives Twilio; each carries the request id (`rid`), so no SID lookup."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

STATUS_CALLBACK_PATH = "/api/status_callback"
TWIML_VOICE_PATH = "/api/twiml_voice"


def status_callback_url(
    public_base_url: str, request_id: str, channel: Literal["sms", "call"]
) -> str:
    """`{PUBLIC_BASE_URL}/api/status_callback?rid=<id>&channel=sms|call`."""
    query = urlencode({"rid": request_id, "channel": channel})
    return f"{public_base_url}{STATUS_CALLBACK_PATH}?{query}"


def twiml_voice_url(public_base_url: str, request_id: str, step: int | None = None) -> str:
    """`{PUBLIC_BASE_URL}/api/twiml_voice?rid=<id>`, plus `&step=<n>` for a Gather action."""
    params: dict[str, str | int] = {"rid": request_id}
    if step is not None:
        params["step"] = step
    return f"{public_base_url}{TWIML_VOICE_PATH}?{urlencode(params)}"
