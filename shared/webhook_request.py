"""Read a Functions HTTP request from Twilio: its form fields and whether its signature holds."""

from __future__ import annotations

import logging

import azure.functions as func

from shared.settings import get_settings
from shared.webhook_auth import (
    SIGNATURE_HEADER,
    is_valid_twilio_request,
    parse_form_body,
    path_and_raw_query,
)

logger = logging.getLogger(__name__)


def form_fields(req: func.HttpRequest) -> list[tuple[str, str]]:
    """The POST form fields as (name, value) pairs (blank and repeated fields kept); [] for GET."""
    if req.method.upper() != "POST":
        return []
    return parse_form_body(req.get_body())


def is_signed_by_twilio(req: func.HttpRequest, fields: list[tuple[str, str]]) -> bool:
    """Whether `X-Twilio-Signature` signs PUBLIC_BASE_URL + the request's path and raw query."""
    settings = get_settings()
    path, raw_query = path_and_raw_query(req.url)
    valid = is_valid_twilio_request(
        settings.twilio_auth_token,
        settings.public_base_url,
        path,
        raw_query,
        fields,
        req.headers.get(SIGNATURE_HEADER),
    )
    if not valid:
        logger.warning("rejected a request to %s: missing or invalid Twilio signature", path)
    return valid
