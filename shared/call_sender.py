"""The call channel of the send path: `CallRequest` → Twilio Calls (script, TwiML or URL)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared import twilio_gateway
from shared.contracts import CallRequest
from shared.delivery_store import StateChange
from shared.failure_classes import ClassifiedError, FailureClass, SettingsValue
from shared.send_channel import BadInputError
from shared.settings import get_settings
from shared.twilio_gateway import TwilioResource
from shared.twiml_render import MAX_TWIML_BYTES, largest_document_bytes
from shared.webhook_urls import (
    TWIML_OVERRIDES,
    status_callback_url,
    twiml_voice_url,
    with_connection_overrides,
)


class CallSender:
    """`send_channel.Sender` for phone calls."""

    channel: Literal["call"] = "call"
    model: type[BaseModel] = CallRequest

    def check(self, request: CallRequest) -> None:
        """A script must render as TwiML Twilio accepts (the size depends on the app's URLs)."""
        if request.script is None:
            return
        base = get_settings().public_base_url
        size = largest_document_bytes(
            request.script,
            lambda step: twiml_voice_url(base, request.id, step),
            voice=request.voice,
            language=request.language,
        )
        if size > MAX_TWIML_BYTES:
            raise BadInputError(
                f"script renders a TwiML document of {size} bytes; Twilio takes at most "
                f"{MAX_TWIML_BYTES}"
            )

    def state_properties(self, request: CallRequest) -> StateChange:
        """A script call keeps its script (and default voice/language) for `twiml_voice`."""
        if request.script is None:
            return {}
        return {
            "script": {
                "steps": [step.model_dump(exclude_none=True) for step in request.script],
                "voice": request.voice,
                "language": request.language,
            }
        }

    def _from(self, request: CallRequest) -> str:
        from_ = request.from_ or get_settings().twilio_from_number
        if from_ is None:
            raise ClassifiedError(
                FailureClass.CONFIGURATION, "no caller id: set TWILIO_FROM_NUMBER or give from"
            )
        return from_

    def send(self, request: CallRequest) -> TwilioResource:
        """Create the Call: a script is served by `twiml_voice`, TwiML/URL are passed on."""
        base = get_settings().public_base_url
        url = (
            with_connection_overrides(twiml_voice_url(base, request.id), TWIML_OVERRIDES)
            if request.script is not None
            else request.url
        )
        from_settings = {SettingsValue.STATUS_CALLBACK}
        if request.script is not None:
            from_settings.add(SettingsValue.URL)
        if request.from_ is None:
            from_settings.add(SettingsValue.FROM)
        return twilio_gateway.create_call(
            to=request.to,
            from_=self._from(request),
            status_callback=status_callback_url(base, request.id, "call"),
            url=url,
            twiml=request.twiml,
            timeout=request.timeout,
            machine_detection=request.machine_detection,
            record=request.record,
            from_settings=frozenset(from_settings),
        )

    def find(self, request: CallRequest, since: datetime) -> list[TwilioResource]:
        """Calls to the same number from the same caller id, created since `since`."""
        return twilio_gateway.find_calls(to=request.to, from_=self._from(request), since=since)


CALL = CallSender()
