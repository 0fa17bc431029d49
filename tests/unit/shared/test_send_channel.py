"""`send_channel`: how a delivery ends early, and the protocol the scripted sender fulfils."""

from __future__ import annotations

import pytest

from shared.call_sender import CALL
from shared.send_channel import BadInputError, DeliveryEnded, Sender, SendOutcome
from shared.sms_sender import SMS
from tests.fakes.senders import ScriptedSender, sms_sender


def test_delivery_ended_carries_its_outcome() -> None:
    with pytest.raises(DeliveryEnded) as ended:
        raise DeliveryEnded(SendOutcome.CONFLICT)
    assert ended.value.outcome is SendOutcome.CONFLICT
    assert str(ended.value) == "conflict"


def test_bad_input_is_a_value_error() -> None:
    # The pydantic validators and the senders' checks both end up as bad input.
    assert issubclass(BadInputError, ValueError)


def test_outcomes_are_the_names_the_logs_use() -> None:
    assert [o.value for o in SendOutcome] == [
        "rejected",
        "conflict",
        "duplicate",
        "sent",
        "reconciled",
        "failed",
    ]


@pytest.mark.parametrize("sender", [SMS, CALL, sms_sender()], ids=["sms", "call", "scripted"])
def test_every_sender_offers_what_the_send_path_asks(sender: object) -> None:
    asked = [name for name in dir(Sender) if not name.startswith("_")]
    assert sorted(asked) == ["channel", "check", "find", "model", "send", "state_properties"]
    missing = [name for name in asked if not hasattr(sender, name)]
    assert missing == []
    assert getattr(sender, "channel") in ("sms", "call")  # noqa: B009


def test_the_scripted_sender_says_when_a_test_asks_more_than_it_scripted() -> None:
    sender: ScriptedSender = sms_sender()
    with pytest.raises(AssertionError, match="unexpected send"):
        sender.send(SMS.model.model_validate({"id": "r", "to": "+15551230001", "body": "x"}))
