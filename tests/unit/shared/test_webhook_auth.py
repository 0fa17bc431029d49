"""Webhook signatures: public URL rebuilding and `X-Twilio-Signature` checks with real HMACs.

The checker takes the form fields as the app reads them from a request body: name/value pairs
(`parse_form_body`). Reading a `func.HttpRequest` is `twilio_webhook`'s (test_twilio_webhook)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator
from werkzeug.datastructures import MultiDict

from shared.webhook_auth import (
    is_valid_twilio_request,
    parse_form_body,
    path_and_raw_query,
    public_url,
)

TOKEN = "f00dfeedf00dfeedf00dfeedf00dfeed"
CALL_PARAMS = {
    "AccountSid": "AC0123456789abcdef0123456789abcdef",
    "CallSid": "CA0123456789abcdef0123456789abcdef",
    "CallStatus": "ringing",
    "Caller": "+15005550006",
    "SequenceNumber": "1",
}
CALL_FIELDS = list(CALL_PARAMS.items())


def sign(url: str, params: object = None, token: str = TOKEN) -> str:
    """Sign like Twilio does: HMAC over the exact URL Twilio requested plus the POST params."""
    return str(RequestValidator(token).compute_signature(url, params or {}))


def test_twilio_documentation_vector() -> None:
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+14158675310",
        "Digits": "1234",
        "From": "+14158675310",
        "To": "+18005551212",
    }
    signature = "L/OH5YylLD5NRKLltdqwSvS0BnU="
    assert is_valid_twilio_request(
        "12345", "https://example.com", "/myapp.php", "foo=1&bar=2", params.items(), signature
    )
    assert not is_valid_twilio_request(
        "12345", "https://example.com", "/myapp.php", "bar=2&foo=1", params.items(), signature
    )


@pytest.mark.parametrize(
    ("base", "path", "raw_query", "expected"),
    [
        (
            "http://127.0.0.1:7071",
            "/api/status_callback",
            "rid=r1&channel=sms",
            "http://127.0.0.1:7071/api/status_callback?rid=r1&channel=sms",
        ),
        (
            "https://fn.example.net/",
            "/api/twiml_voice",
            "",
            "https://fn.example.net/api/twiml_voice",
        ),
        (
            "https://gw.example.com/twilio/",
            "/api/twiml_voice",
            "?rid=r1",
            "https://gw.example.com/twilio/api/twiml_voice?rid=r1",
        ),
        (
            "https://gw.example.com/twilio",
            "api/twiml_voice",
            "rid=a%2Fb&note=hi+there%21&x=%E2%9C%93",
            "https://gw.example.com/twilio/api/twiml_voice?rid=a%2Fb&note=hi+there%21&x=%E2%9C%93",
        ),
        # a trailing slash on the path is signed as sent, not normalised away
        ("https://h.example", "/api/x/", "a=1", "https://h.example/api/x/?a=1"),
    ],
)
def test_public_url_keeps_every_byte_of_path_and_query(
    base: str, path: str, raw_query: str, expected: str
) -> None:
    assert public_url(base, path, raw_query) == expected


def test_http_with_explicit_port_is_signed_with_the_port() -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1&channel=call"
    signature = sign(url, CALL_PARAMS)
    path, query = "/api/status_callback", "rid=r1&channel=call"
    assert is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", path, query, CALL_FIELDS, signature
    )
    # another port or none at all is another URL
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7072", path, query, CALL_FIELDS, signature
    )
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1", path, query, CALL_FIELDS, signature
    )


@pytest.mark.parametrize(
    "signed_url",
    [
        # voice over https: Twilio drops the port
        "https://fn.example.net/api/twiml_voice?rid=r1",
        # sms over https: Twilio keeps the port
        "https://fn.example.net:8443/api/twiml_voice?rid=r1",
    ],
)
def test_https_port_quirks_are_accepted(signed_url: str) -> None:
    signature = sign(signed_url, CALL_PARAMS)
    assert is_valid_twilio_request(
        TOKEN, "https://fn.example.net:8443", "/api/twiml_voice", "rid=r1", CALL_FIELDS, signature
    )


def test_https_default_port_in_base_matches_a_url_signed_without_port() -> None:
    signature = sign("https://fn.example.net/api/status_callback?rid=r1", CALL_PARAMS)
    assert is_valid_twilio_request(
        TOKEN,
        "https://fn.example.net:443",
        "/api/status_callback",
        "rid=r1",
        CALL_FIELDS,
        signature,
    )


def test_scheme_must_match() -> None:
    signature = sign("https://fn.example.net/api/status_callback?rid=r1", CALL_PARAMS)
    assert not is_valid_twilio_request(
        TOKEN, "http://fn.example.net", "/api/status_callback", "rid=r1", CALL_FIELDS, signature
    )


def test_path_prefix_of_the_public_base_is_part_of_the_signed_url() -> None:
    signed = "https://gw.example.com/twilio/api/status_callback?rid=r1&channel=sms"
    signature = sign(signed, CALL_PARAMS)
    path, query = "/api/status_callback", "rid=r1&channel=sms"
    assert is_valid_twilio_request(
        TOKEN, "https://gw.example.com/twilio", path, query, CALL_FIELDS, signature
    )
    assert not is_valid_twilio_request(
        TOKEN, "https://gw.example.com", path, query, CALL_FIELDS, signature
    )


def test_encoded_query_is_validated_raw_not_re_encoded() -> None:
    raw_query = "rid=a%2Fb&note=hi+there%21&x=%E2%9C%93"
    signature = sign(f"https://fn.example.net/api/twiml_voice?{raw_query}", CALL_PARAMS)
    assert is_valid_twilio_request(
        TOKEN, "https://fn.example.net", "/api/twiml_voice", raw_query, CALL_FIELDS, signature
    )
    decoded = "rid=a/b&note=hi there!&x=✓"
    assert not is_valid_twilio_request(
        TOKEN, "https://fn.example.net", "/api/twiml_voice", decoded, CALL_FIELDS, signature
    )


def test_get_request_is_signed_over_the_query_only() -> None:
    raw_query = urlencode({"rid": "r1", "CallSid": "CA1", "CallStatus": "in-progress"})
    signature = sign(f"http://127.0.0.1:7071/api/twiml_voice?{raw_query}")
    assert is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/twiml_voice", raw_query, [], signature
    )
    tampered = raw_query.replace("in-progress", "completed")
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/twiml_voice", tampered, [], signature
    )


@pytest.mark.parametrize("signature", [None, ""])
def test_missing_signature_is_denied(signature: str | None) -> None:
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/status_callback", "rid=r1", CALL_FIELDS, signature
    )


def test_signature_with_another_token_is_denied() -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1"
    forged = sign(url, CALL_PARAMS, token="0" * 32)
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/status_callback", "rid=r1", CALL_FIELDS, forged
    )


def test_empty_auth_token_denies_even_a_matching_signature() -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1"
    signature = sign(url, CALL_PARAMS, token="")
    assert not is_valid_twilio_request(
        "", "http://127.0.0.1:7071", "/api/status_callback", "rid=r1", CALL_FIELDS, signature
    )


@pytest.mark.parametrize(
    "changed",
    [
        {**CALL_PARAMS, "CallStatus": "completed"},
        {**CALL_PARAMS, "Digits": "1"},
        {k: v for k, v in CALL_PARAMS.items() if k != "SequenceNumber"},
        {**CALL_PARAMS, "callstatus": "ringing"},
    ],
    ids=["altered", "added", "removed", "case-changed-name"],
)
def test_changed_params_are_denied(changed: dict[str, str]) -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1"
    signature = sign(url, CALL_PARAMS)
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/status_callback", "rid=r1", changed.items(), signature
    )


def test_changed_rid_in_query_is_denied() -> None:
    signature = sign("http://127.0.0.1:7071/api/status_callback?rid=r1", CALL_PARAMS)
    assert not is_valid_twilio_request(
        TOKEN, "http://127.0.0.1:7071", "/api/status_callback", "rid=r2", CALL_FIELDS, signature
    )


def test_repeated_form_keys_count_every_value() -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1"
    pairs = [
        ("MessageSid", "SM1"),
        ("MediaUrl", "https://a.example/1"),
        ("MediaUrl", "https://a.example/2"),
    ]
    signature = sign(url, MultiDict(pairs))
    base, path, query = "http://127.0.0.1:7071", "/api/status_callback", "rid=r1"
    fields = parse_form_body(urlencode(pairs).encode())
    assert is_valid_twilio_request(TOKEN, base, path, query, fields, signature)
    # one value per key (what a plain dict would keep) is not what was signed
    assert not is_valid_twilio_request(TOKEN, base, path, query, dict(pairs).items(), signature)
    assert not is_valid_twilio_request(TOKEN, base, path, query, pairs[:2], signature)


def test_parse_form_body_keeps_blank_repeated_and_unicode_fields() -> None:
    fields = [
        ("ForwardedFrom", ""),
        ("Body", "Tom & Jerry <3 héllo ✓"),
        ("To", "+15005550006"),
        ("MediaUrl", "u1"),
        ("MediaUrl", "u2"),
    ]
    body = urlencode(fields).encode("ascii")
    assert parse_form_body(body) == fields


def test_blank_fields_are_signed_too() -> None:
    url = "http://127.0.0.1:7071/api/status_callback?rid=r1"
    body = b"CallSid=CA1&ForwardedFrom=&CallStatus=ringing"
    signature = sign(url, {"CallSid": "CA1", "ForwardedFrom": "", "CallStatus": "ringing"})
    base, path, query = "http://127.0.0.1:7071", "/api/status_callback", "rid=r1"
    assert is_valid_twilio_request(TOKEN, base, path, query, parse_form_body(body), signature)
    without_blank = [("CallSid", "CA1"), ("CallStatus", "ringing")]
    assert not is_valid_twilio_request(TOKEN, base, path, query, without_blank, signature)


def test_path_and_raw_query_keep_the_query_as_received() -> None:
    """The worker's URL may differ from the public one; path and query are what it saw."""
    url = "http://10.0.0.4:80/api/status_callback?rid=r%2B1&note=a+b&blank="
    assert path_and_raw_query(url) == ("/api/status_callback", "rid=r%2B1&note=a+b&blank=")
    assert path_and_raw_query("http://10.0.0.4/api/twiml_voice") == ("/api/twiml_voice", "")
