"""Twilio webhook signatures: rebuild the public URL Twilio called and check `X-Twilio-Signature`.

Twilio signs the URL it requested (scheme, host, port, path and query exactly as configured) plus,
for POST, the form parameters. The worker may see another URL (an Azure front end turns https into
http, a gateway strips a path prefix), so the URL is rebuilt from ``PUBLIC_BASE_URL`` + the request
path + the raw query string, never re-encoded. twilio's ``RequestValidator`` does the HMAC and also
accepts the URL with its port removed or the default port added, because Twilio drops the port for
voice webhooks over HTTPS but keeps it elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

from twilio.request_validator import RequestValidator

SIGNATURE_HEADER = "X-Twilio-Signature"


class _Form:
    """Form fields as name -> all values, in the shape `RequestValidator` reads (`getlist`)."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self._fields = fields

    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def getlist(self, key: str) -> list[str]:
        return self._fields[key]


def public_url(public_base_url: str, path: str, raw_query: str) -> str:
    """The URL Twilio requested: public base (scheme, host, port, path prefix) + path + raw query.

    `path` is the path the worker saw (e.g. ``/api/status_callback``), appended after the base's
    own path prefix; `raw_query` is the query string exactly as received, without ``?``.
    """
    base = public_base_url.rstrip("/")
    tail = path if path.startswith("/") or not path else "/" + path
    query = raw_query.removeprefix("?")
    return f"{base}{tail}?{query}" if query else f"{base}{tail}"


def path_and_raw_query(request_url: str) -> tuple[str, str]:
    """Split the URL the worker saw into its path and raw (still percent-encoded) query."""
    parts = urlsplit(request_url)
    return parts.path, parts.query


def parse_form_body(body: bytes) -> list[tuple[str, str]]:
    """Decode an ``application/x-www-form-urlencoded`` body, keeping blank and repeated fields.

    Useful when the request lacks a Content-Type header and the framework left its form empty.
    Blank values matter: Twilio signs them too.
    """
    return parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8")


def is_valid_twilio_request(
    auth_token: str,
    public_base_url: str,
    path: str,
    raw_query: str,
    form_fields: Iterable[tuple[str, str]],
    signature: str | None,
) -> bool:
    """Whether `signature` (the ``X-Twilio-Signature`` header) signs this request.

    `form_fields` are the decoded POST form fields as name/value pairs, repeated and blank ones
    kept (`parse_form_body`; none for GET, whose parameters are in the query). A missing
    signature or an empty auth token (a misconfiguration: anyone could sign with an empty key)
    is never valid.
    """
    if not signature or not auth_token:
        return False
    url = public_url(public_base_url, path, raw_query)
    validator = RequestValidator(auth_token)
    return bool(validator.validate(url, _as_form(form_fields), signature))


def _as_form(pairs: Iterable[tuple[str, str]]) -> _Form:
    fields: dict[str, list[str]] = {}
    for name, value in pairs:
        fields.setdefault(name, []).append(value)
    return _Form(fields)
