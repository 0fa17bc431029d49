"""HTTP trigger: the TwiML that drives a call (its stored script, or the twimlet message form)."""

from __future__ import annotations

import azure.functions as func

from shared.app_services import app_recorder
from shared.twilio_webhook import TwilioWebhook, answer_webhook, twiml_response
from shared.voice_flow import voice_twiml


async def main(req: func.HttpRequest) -> func.HttpResponse:
    """403 unless Twilio signed it; otherwise TwiML (an apology rather than a 500 on errors)."""
    return await answer_webhook(req, lambda webhook: twiml_response(webhook, _voice_twiml))


def _voice_twiml(webhook: TwilioWebhook) -> str:
    return voice_twiml(
        app_recorder(), webhook.param("rid"), webhook.param("step"), webhook.query, webhook.form
    )
