"""HTTP trigger: the TwiML that drives a call (its stored script, or the twimlet message form)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl

import azure.functions as func

from shared.app_services import app_recorder
from shared.twiml_render import render_unknown_request
from shared.voice_flow import voice_twiml
from shared.webhook_auth import path_and_raw_query
from shared.webhook_request import form_fields, is_signed_by_twilio

logger = logging.getLogger(__name__)


def main(req: func.HttpRequest) -> func.HttpResponse:
    """403 unless Twilio signed it; otherwise TwiML (an apology rather than a 500 on errors)."""
    fields = form_fields(req)
    if not is_signed_by_twilio(req, fields):
        return func.HttpResponse(status_code=403)
    query = parse_qsl(path_and_raw_query(req.url)[1], keep_blank_values=True)
    try:
        twiml = voice_twiml(
            app_recorder(), req.params.get("rid"), req.params.get("step"), query, dict(fields)
        )
    except Exception:
        # A caller is on the line: say sorry and hang up instead of Twilio's error message.
        logger.exception("twiml_voice failed for rid=%s", req.params.get("rid"))
        twiml = render_unknown_request()
    return func.HttpResponse(twiml, status_code=200, mimetype="application/xml", charset="utf-8")
