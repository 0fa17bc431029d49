"""Queue trigger: one SMS request → one Twilio Message (logic in shared.send_pipeline)."""

from __future__ import annotations

from azure.functions import QueueMessage

from shared.app_services import app_recorder
from shared.send_intake import QueueDelivery
from shared.send_pipeline import process
from shared.sms_sender import SMS


def main(msg: QueueMessage) -> None:
    """Send the SMS; bad input is recorded, retryable failures raise so the host retries."""
    process(
        SMS, QueueDelivery(msg.id or "", msg.get_body(), msg.dequeue_count or 1), app_recorder()
    )
