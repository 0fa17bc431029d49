"""Inline TwiML on a call request must be well-formed XML with a <Response> root, so a bad one
is rejected as bad input instead of failing later in Twilio (error 12100)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts import CallRequest

CALL = {"id": "c-1", "to": "+15005550006"}


@pytest.mark.parametrize(
    "twiml",
    [
        "<Response/>",
        "<Response><Say>Hello &amp; welcome</Say><Pause length='1'/></Response>",
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Hangup/></Response>\n',
        "<Response><!-- a comment --><Say><![CDATA[<b>]]></Say></Response>",
    ],
)
def test_well_formed_twiml_with_a_response_root_is_accepted(twiml: str) -> None:
    assert CallRequest.model_validate({**CALL, "twiml": twiml}).twiml == twiml


@pytest.mark.parametrize(
    ("twiml", "problem"),
    [
        ("notxml", "not well-formed XML"),
        ("<Response><Say>unclosed</Response>", "not well-formed XML"),
        ("<Response/><Response/>", "not well-formed XML"),
        ("<Say>hi</Say>", "root element must be <Response>, not <Say>"),
        ("<response/>", "root element must be <Response>, not <response>"),
        ('<Response xmlns="urn:x"/>', "root element must be <Response>, not <{urn:x}Response>"),
        (
            '<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><Response>&b;</Response>',
            "must not contain a DOCTYPE",
        ),
    ],
)
def test_malformed_twiml_is_rejected_naming_the_problem(twiml: str, problem: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CallRequest.model_validate({**CALL, "twiml": twiml})
    errors = raised.value.errors()
    assert [error["loc"] for error in errors] == [("twiml",)]
    assert problem in errors[0]["msg"]
