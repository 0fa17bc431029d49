"""The status callback URL the app gives Twilio; it carries the request id (`rid`).

The TwiML URLs of calls are built by `twiml_render.twiml_voice_url`.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlencode

STATUS_CALLBACK_PATH = "/api/status_callback"


def status_callback_url(
    public_base_url: str, request_id: str, channel: Literal["sms", "call"]
) -> str:
    """`{PUBLIC_BASE_URL}/api/status_callback?rid=<id>&channel=sms|call`."""
    query = urlencode({"rid": request_id, "channel": channel})
    return f"{public_base_url}{STATUS_CALLBACK_PATH}?{query}"
