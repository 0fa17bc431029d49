"""A Functions HTTP request from Twilio, in and out: read it, check its signature, and answer
TwiML. Both HTTP functions start with `signed_webhook`."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

import azure.functions as func

from shared.settings import get_settings
from shared.webhook_auth import (
    SIGNATURE_HEADER,
    is_valid_twilio_request,
    parse_form_body,
    path_and_raw_query,
)
from shared.webhook_threads import run_in_webhook_pool

logger = logging.getLogger(__name__)

Pairs = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class TwilioWebhook:
    """A request whose Twilio signature holds.

    `fields`: the POST form fields in order, repeated and blank ones kept (none for GET).
    `query`: the query string's pairs as sent, repeated and blank ones kept.
    `params`: the query as the Functions host passes it (`req.params`), read by `param`.
    """

    path: str
    fields: Pairs
    query: Pairs
    params: Mapping[str, str]

    def param(self, name: str) -> str | None:
        """The query parameter `name` as the host passes it; None when absent."""
        return self.params.get(name)

    @property
    def form(self) -> dict[str, str]:
        """The form fields by name (the last value of a repeated one)."""
        return dict(self.fields)


def signed_webhook(req: func.HttpRequest) -> TwilioWebhook | None:
    """The webhook `req` carries, or None (logged) unless `X-Twilio-Signature` signs
    PUBLIC_BASE_URL + the request's path and raw query + its form fields."""
    settings = get_settings()
    path, raw_query = path_and_raw_query(req.url)
    fields = parse_form_body(req.get_body()) if req.method.upper() == "POST" else []
    if not is_valid_twilio_request(
        settings.twilio_auth_token,
        settings.public_base_url,
        path,
        raw_query,
        fields,
        req.headers.get(SIGNATURE_HEADER),
    ):
        logger.warning("rejected a request to %s: missing or invalid Twilio signature", path)
        return None
    return TwilioWebhook(
        path=path,
        fields=tuple(fields),
        query=tuple(parse_qsl(raw_query, keep_blank_values=True)),
        params=dict(req.params),
    )


def refused() -> func.HttpResponse:
    """403: what a request without a valid Twilio signature gets (a retry would not help)."""
    return func.HttpResponse(status_code=403)


def twiml_response(
    webhook: TwilioWebhook, render: Callable[[TwilioWebhook], str]
) -> func.HttpResponse:
    """200 with the TwiML `render(webhook)` returns, or the apology if it raises: a caller is
    on the line, and Twilio would tell them of an application error instead."""
    try:
        twiml = render(webhook)
    except Exception:
        # Imported here: `status_callback` shares this module and never renders TwiML (nor
        # pays for twilio's TwiML builder); `twiml_voice` has it loaded already.
        from shared.twiml_render import render_unknown_request

        logger.exception("%s failed for rid=%s: apology", webhook.path, webhook.param("rid"))
        twiml = render_unknown_request()
    return func.HttpResponse(twiml, status_code=200, mimetype="application/xml", charset="utf-8")


async def answer_webhook(
    req: func.HttpRequest, respond: Callable[[TwilioWebhook], func.HttpResponse]
) -> func.HttpResponse:
    """The answer of an HTTP function to Twilio: 403 unless `req` is signed, else
    `respond(webhook)`, run on the webhook pool (`webhook_threads`) because it blocks."""
    return await run_in_webhook_pool(functools.partial(_signed_or_refused, respond), req)


def _signed_or_refused(
    respond: Callable[[TwilioWebhook], func.HttpResponse], req: func.HttpRequest
) -> func.HttpResponse:
    webhook = signed_webhook(req)
    return refused() if webhook is None else respond(webhook)
