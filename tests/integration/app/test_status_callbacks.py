"""status_callback over HTTP: out-of-order and repeated callbacks, signatures, public URLs."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from shared.app_services import app_store

SMS_SID = "SM" + "c" * 32
CALL_SID = "CA" + "d" * 32


def _claim(rid: str, channel: str) -> None:
    assert app_store().create_state(
        rid,
        {"channel": channel, "status": "sending", "status_source": "local", "event_count": 0},
    )


def _post(app: Any, rid: str, channel: str, form: dict[str, str], token: str = "") -> int:
    """POST a callback signed like Twilio signs it; the HTTP status the app answered."""
    url = f"{app.values['PUBLIC_BASE_URL']}/api/status_callback?rid={rid}&channel={channel}"
    signature = RequestValidator(token or app.values["TWILIO_AUTH_TOKEN"]).compute_signature(
        url, form
    )
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _call(status: str, sequence: int, **extra: str) -> dict[str, str]:
    return {"CallSid": CALL_SID, "CallStatus": status, "SequenceNumber": str(sequence), **extra}


def test_call_callbacks_out_of_order_and_repeated(app: Any, rid: str) -> None:
    _claim(rid, "call")
    arrivals = [
        _call("completed", 3, CallDuration="12"),
        _call("ringing", 1),
        _call("completed", 3, CallDuration="12"),
        _call("in-progress", 2, AnsweredBy="human"),
        _call("initiated", 0),
    ]
    assert [_post(app, rid, "call", form) for form in arrivals] == [204] * 5
    state = app_store().get_state(rid)
    assert (state.status, state.sequence, state.twilio_sid) == ("completed", 3, CALL_SID)
    assert len(app_store().list_history(rid)) == 4  # the repeat is not recorded twice
    events = app.events()
    assert [(e["status"], e["sequence"]) for e in events] == [("completed", 1)]
    assert events[0]["detail"]["duration"] == "12"


@pytest.mark.parametrize(
    ("arrivals", "final"),
    [
        (["delivered", "sent", "delivered", "queued"], "delivered"),
        (["undelivered", "delivered"], "undelivered"),
        (["delivered", "undelivered"], "undelivered"),
        (["sent", "sending", "queued", "sent"], "sent"),
    ],
)
def test_sms_callbacks_settle_on_the_right_status(
    app: Any, rid: str, arrivals: list[str], final: str
) -> None:
    _claim(rid, "sms")
    for status in arrivals:
        form = {"MessageSid": SMS_SID, "MessageStatus": status, "To": "+15551230001"}
        if status == "undelivered":
            form["ErrorCode"] = "30003"
        assert _post(app, rid, "sms", form) == 204
    state = app_store().get_state(rid)
    assert state.status == final
    statuses = [e["status"] for e in app.events()]
    assert statuses[-1] == final
    assert len(statuses) == len(set(statuses))  # an event per change, never a repeat


def test_opt_out_error_on_a_callback_flags_the_recipient(app: Any, rid: str) -> None:
    _claim(rid, "sms")
    form = {
        "MessageSid": SMS_SID,
        "MessageStatus": "failed",
        "ErrorCode": "21610",
        "To": "+15551239876",
    }
    assert _post(app, rid, "sms", form) == 204
    assert app_store().table.get_entity("~opt-out", "+15551239876")["opted_out"]


def test_bad_signatures_are_refused_and_nothing_is_recorded(app: Any, rid: str) -> None:
    _claim(rid, "sms")
    form = {"MessageSid": SMS_SID, "MessageStatus": "delivered"}
    assert _post(app, rid, "sms", form, token="someone-else") == 403
    url = f"{app.values['PUBLIC_BASE_URL']}/api/status_callback?rid={rid}&channel=sms"
    unsigned = urllib.request.Request(url, data=urlencode(form).encode())
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=10)
    assert refused.value.code == 403
    assert app_store().get_state(rid).status == "sending"
    assert app_store().list_history(rid) == []
    assert app.events() == []


def test_emulator_duplicates_and_reorders_callbacks(app: Any, rid: str) -> None:
    app.emulator(
        "/_emulator/faults",
        {"duplicate_callbacks": {"rate": 1}, "out_of_order_callbacks": {"rate": 1}},
    )
    app.send_sms({"id": rid, "to": "+15551230002", "body": f"dup and reorder {rid}"})
    state = app.wait_status(rid, "delivered")
    (message,) = app.messages_for(rid)
    path = f"/_emulator/callbacks?sid={message['sid']}&kind=status_callback"

    def answered() -> list[dict[str, Any]] | None:
        deliveries = app.emulator(path)["callbacks"]
        done = deliveries and all(d["status"] is not None for d in deliveries)
        return deliveries if done and any(d["duplicate"] for d in deliveries) else None

    deliveries = app.wait_for("every callback answered, duplicates included", answered)
    assert all(d["status"] == 204 for d in deliveries)
    assert state.twilio_sid == message["sid"]
    statuses = [e["status"] for e in app.events()]
    assert len(statuses) == len(set(statuses))
