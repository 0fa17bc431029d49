"""The Message resource as stored, and its JSON exactly in the shape of Twilio's schema."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from emulators.twilio_api.clock import rfc2822

API_VERSION = "2010-04-01"
IN_FLIGHT_STATUSES = frozenset({"accepted", "scheduled", "queued", "sending"})
# A Messaging Service message has no sender yet in these statuses (canceled: only a scheduled one
# can be), so Twilio shows `num_segments` "0" until it is queued.
NO_SENDER_YET = frozenset({"accepted", "scheduled", "canceled"})


@dataclass
class Message:
    """One outbound message and its emulated life."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status: str
    num_segments: int
    media_urls: list[str]
    date_created: datetime
    date_updated: datetime
    status_callback: str | None
    send_at: datetime | None = None
    date_sent: datetime | None = None
    error_code: int | None = None
    error_message: str | None = None
    price: str | None = None
    # Where the emulated life ends: "delivered", "undelivered", "failed" or "sent".
    outcome: str = "delivered"
    seq: int = 0
    params: dict[str, list[str]] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """The resource path, relative to the API host."""
        return f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{self.sid}.json"

    def to_json(self) -> dict[str, Any]:
        """Every field of Twilio's `api.v2010.account.message` schema, with Twilio's types."""
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": self.body,
            "date_created": rfc2822(self.date_created),
            "date_sent": rfc2822(self.date_sent) if self.date_sent else None,
            "date_updated": rfc2822(self.date_updated),
            "direction": "outbound-api",
            "error_code": self.error_code,
            "error_message": self.error_message,
            "from": self.from_,
            "messaging_service_sid": self.messaging_service_sid,
            "num_media": str(len(self.media_urls)),
            "num_segments": "0" if self.status in NO_SENDER_YET else str(self.num_segments),
            "price": self.price,
            "price_unit": "USD",
            "sid": self.sid,
            "status": self.status,
            "subresource_uris": {
                "media": self.uri.removesuffix(".json") + "/Media.json",
                "feedback": self.uri.removesuffix(".json") + "/Feedback.json",
            },
            "to": self.to,
            "uri": self.uri,
        }
