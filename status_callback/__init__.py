"""HTTP trigger: Twilio status callbacks → delivery state, history and events."""

from __future__ import annotations

import azure.functions as func

from shared.app_services import app_recorder
from shared.callback_recorder import record_status_callback
from shared.webhook_request import form_fields, is_signed_by_twilio


def main(req: func.HttpRequest) -> func.HttpResponse:
    """403 unless Twilio signed it; otherwise record the status and answer 204."""
    fields = form_fields(req)
    if not is_signed_by_twilio(req, fields):
        return func.HttpResponse(status_code=403)
    record_status_callback(
        app_recorder(), req.params.get("rid"), req.params.get("channel"), dict(fields)
    )
    return func.HttpResponse(status_code=204)
