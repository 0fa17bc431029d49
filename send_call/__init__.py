"""Queue trigger: one call request → one Twilio Call (logic in shared.send_pipeline)."""

from __future__ import annotations

from azure.functions import QueueMessage

from shared.app_services import app_recorder
from shared.call_sender import CALL
from shared.send_intake import QueueDelivery
from shared.send_pipeline import process


def main(msg: QueueMessage) -> None:
    """Place the call; bad input is recorded, retryable failures raise so the host retries."""
    process(
        CALL, QueueDelivery(msg.id or "", msg.get_body(), msg.dequeue_count or 1), app_recorder()
    )
