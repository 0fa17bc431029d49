"""The SMS channel of the send path: `SmsRequest` → Twilio Messages."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel

from shared import twilio_gateway
from shared.contracts import SmsRequest
from shared.delivery_store import StateChange
from shared.failure_classes import ClassifiedError, FailureClass, SettingsValue
from shared.send_channel import BadInputError
from shared.settings import get_settings
from shared.twilio_gateway import TwilioResource
from shared.webhook_urls import status_callback_url


class SmsSender:
    """`send_channel.Sender` for SMS/MMS."""

    channel: Literal["sms"] = "sms"
    model: type[BaseModel] = SmsRequest

    def check(self, request: SmsRequest) -> None:
        """A scheduled message needs a Messaging Service (Twilio sends it at once otherwise)."""
        settings = get_settings()
        service = request.messaging_service_sid or settings.twilio_messaging_service_sid
        if request.send_at is not None and (request.from_ is not None or service is None):
            raise BadInputError("send_at needs a Messaging Service (and no explicit from)")

    def state_properties(self, request: SmsRequest) -> StateChange:
        """Nothing beyond the common properties."""
        return {}

    def _sender(self, request: SmsRequest) -> tuple[str | None, str | None]:
        """(From, MessagingServiceSid): the request's choice, else the settings'."""
        if request.from_ is not None or request.messaging_service_sid is not None:
            return request.from_, request.messaging_service_sid
        settings = get_settings()
        if settings.twilio_messaging_service_sid is not None:
            return None, settings.twilio_messaging_service_sid
        if settings.twilio_from_number is not None:
            return settings.twilio_from_number, None
        raise ClassifiedError(
            FailureClass.CONFIGURATION,
            "no sender: set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID",
        )

    def send(self, request: SmsRequest) -> TwilioResource:
        """Create the Message, with the status callback carrying the request id."""
        from_, service = self._sender(request)
        chosen_by_request = request.from_ is not None or request.messaging_service_sid is not None
        from_settings = {SettingsValue.STATUS_CALLBACK}
        if not chosen_by_request:
            from_settings |= {SettingsValue.FROM, SettingsValue.MESSAGING_SERVICE}
        return twilio_gateway.create_message(
            to=request.to,
            from_=from_,
            messaging_service_sid=service,
            body=request.body,
            media_urls=request.media_urls,
            status_callback=status_callback_url(get_settings().public_base_url, request.id, "sms"),
            send_at=request.send_at,
            validity_period=request.validity_period,
            from_settings=frozenset(from_settings),
        )

    def find(self, request: SmsRequest, since: datetime) -> list[TwilioResource]:
        """Messages to the same number with the same body and number of media, created since
        `since`."""
        from_, _ = self._sender(request)
        return twilio_gateway.find_messages(
            to=request.to,
            from_=from_,
            body=request.body,
            media_count=len(request.media_urls or []),
            since=since,
        )


SMS = SmsSender()
