"""HTTP trigger: Twilio status callbacks → delivery state, history and events."""

from __future__ import annotations

import azure.functions as func

from shared.app_services import app_recorder
from shared.callback_recorder import record_status_callback
from shared.twilio_webhook import refused, signed_webhook
from shared.webhook_threads import run_in_webhook_pool


async def main(req: func.HttpRequest) -> func.HttpResponse:
    """403 unless Twilio signed it; otherwise record the status and answer 204."""
    return await run_in_webhook_pool(_answer, req)


def _answer(req: func.HttpRequest) -> func.HttpResponse:
    webhook = signed_webhook(req)
    if webhook is None:
        return refused()
    record_status_callback(
        app_recorder(), webhook.param("rid"), webhook.param("channel"), webhook.form
    )
    return func.HttpResponse(status_code=204)
