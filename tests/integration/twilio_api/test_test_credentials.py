"""Twilio-style test credentials: only creates answer, the magic-number rules apply strictly (any
other From is refused), nothing is stored and no callback is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from emulators.twilio_api import DEFAULT_TEST_ACCOUNT_SID, DEFAULT_TEST_AUTH_TOKEN

MAGIC_OK = "+15005550006"
TO = "+15551290001"


@pytest.fixture
def test_client(kit: Any) -> Client:
    """A twilio client with the emulator's test credentials."""
    return kit.make_client(  # type: ignore[no-any-return]
        kit.emulator,
        username=DEFAULT_TEST_ACCOUNT_SID,
        password=DEFAULT_TEST_AUTH_TOKEN,
        account_sid=DEFAULT_TEST_ACCOUNT_SID,
    )


def _code(call: Any) -> tuple[int, int]:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value.status, caught.value.code


def test_message_from_magic_number_is_answered_but_not_stored_nor_sent(
    test_client: Client, client: Client, kit: Any, sink: Any
) -> None:
    message = test_client.messages.create(
        to=TO, from_=MAGIC_OK, body="test", status_callback=sink.url()
    )
    assert message.status == "queued"
    assert message.account_sid == DEFAULT_TEST_ACCOUNT_SID
    assert (message.num_segments, message.num_media) == ("1", "0")
    # A live message to the same sink: once its last callback is in, the test one had its chance.
    live = client.messages.create(to=TO, from_=MAGIC_OK, body="live", status_callback=sink.url())
    kit.wait_for(lambda: "delivered" in sink.statuses(live.sid), "the live delivered callback")
    assert kit.deliveries(message.sid) == []
    assert sink.for_sid(message.sid) == []
    assert message.sid not in [m["sid"] for m in kit.inspect("messages")["messages"]]


@pytest.mark.parametrize(
    ("from_", "expected"),
    [
        ("+15551290099", (400, 21606)),  # any number the test account does not own
        ("+15005550001", (400, 21212)),
        ("+15005550007", (400, 21606)),
        ("+15005550008", (400, 21611)),
    ],
)
def test_message_from_rules_are_strict(
    test_client: Client, from_: str, expected: tuple[int, int]
) -> None:
    assert _code(lambda: test_client.messages.create(to=TO, from_=from_, body="x")) == expected


def test_message_magic_to_numbers_still_apply(test_client: Client) -> None:
    create = lambda: test_client.messages.create(to="+15005550002", from_=MAGIC_OK, body="x")  # noqa: E731
    assert _code(create) == (400, 21612)


def test_live_credentials_accept_any_from(client: Client) -> None:
    assert client.messages.create(to=TO, from_="+15551290099", body="x").status == "queued"


def test_call_from_magic_number_is_answered_but_never_dialed(
    test_client: Client, kit: Any, sink: Any
) -> None:
    call = test_client.calls.create(
        to=TO, from_=MAGIC_OK, twiml="<Response/>", status_callback=sink.url()
    )
    assert (call.status, call.account_sid) == ("queued", DEFAULT_TEST_ACCOUNT_SID)
    assert call.sid not in [c["sid"] for c in kit.inspect("calls")["calls"]]
    assert kit.deliveries(call.sid) == []


@pytest.mark.parametrize(
    ("to", "from_", "expected"),
    [
        (TO, "+15551290099", (400, 21210)),  # not a verified caller ID of the test account
        (TO, "+15005550001", (400, 21212)),
        ("+15005550002", MAGIC_OK, (400, 21214)),
        ("+15005550004", MAGIC_OK, (400, 21216)),
    ],
)
def test_call_number_rules_are_strict(
    test_client: Client, to: str, from_: str, expected: tuple[int, int]
) -> None:
    create = lambda: test_client.calls.create(to=to, from_=from_, twiml="<Response/>")  # noqa: E731
    assert _code(create) == expected


def test_other_routes_are_403_20008(test_client: Client) -> None:
    assert _code(lambda: test_client.messages("SM" + "0" * 32).fetch()) == (403, 20008)
    # twilio raises a bare TwilioException (with the response) for a failed list page.
    with pytest.raises(TwilioException) as caught:
        test_client.calls.list(limit=1)
    response = caught.value.args[1]
    assert (response.status_code, json.loads(response.text)["code"]) == (403, 20008)


def test_test_credentials_cannot_reach_the_live_account(kit: Any) -> None:
    crossed = kit.make_client(
        kit.emulator,
        username=DEFAULT_TEST_ACCOUNT_SID,
        password=DEFAULT_TEST_AUTH_TOKEN,
        account_sid=kit.emulator.account_sid,
    )
    assert _code(lambda: crossed.messages.create(to=TO, from_=MAGIC_OK, body="x")) == (401, 20003)
