"""Twilio's answers for pure unit tests: an adapter mounted on the real twilio client's session,
so twilio-python itself builds the requests and parses the answers."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import requests
from requests.adapters import HTTPAdapter

from shared import twilio_gateway


class CannedTwilio(HTTPAdapter):
    """Answers every request with one canned response, or fails it with one exception."""

    def __init__(self, status: int = 200, body: Any = None, error: Exception | None = None):
        super().__init__()
        self.status, self.body, self.error = status, body, error
        self.seen: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.seen.append(request)
        if self.error is not None:
            raise self.error
        response = requests.Response()
        response.status_code = self.status
        text = self.body if isinstance(self.body, str) else json.dumps(self.body)
        response._content = text.encode()
        response.headers["Content-Type"] = "application/json"
        response.encoding = "utf-8"
        response.url = str(request.url)
        response.request = request
        return response

    def sent_form(self) -> dict[str, str]:
        """The form fields of the one request it was sent."""
        (request,) = self.seen
        return dict(parse_qsl(str(request.body), keep_blank_values=True))


def answer_client(
    status: int = 200, body: Any = None, error: Exception | None = None
) -> CannedTwilio:
    """A `CannedTwilio` mounted on the process's Twilio client (`twilio_gateway.get_client()`)."""
    adapter = CannedTwilio(status, body, error)
    twilio_gateway.get_client().http_client.session.mount("http://", adapter)
    return adapter
