"""HTTP trigger: Twilio status callbacks → delivery state, history and events."""

from __future__ import annotations

import azure.functions as func

from shared.app_services import app_recorder
from shared.callback_recorder import record_status_callback
from shared.twilio_webhook import TwilioWebhook, answer_webhook


async def main(req: func.HttpRequest) -> func.HttpResponse:
    """403 unless Twilio signed it; otherwise record the status and answer 204."""
    return await answer_webhook(req, _record)


def _record(webhook: TwilioWebhook) -> func.HttpResponse:
    record_status_callback(
        app_recorder(), webhook.param("rid"), webhook.param("channel"), webhook.form
    )
    return func.HttpResponse(status_code=204)
