"""Real callbacks captured from the Twilio emulator, altered so that their signature still holds
(Twilio signs names and values concatenated with no separator), and posted again: answered 204,
nothing recorded."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from shared.app_services import app_store


def _shifted(form: dict[str, str], name: str) -> dict[str, str]:
    """`form` with the last character of `name` moved to the start of its value."""
    altered = {key: value for key, value in form.items() if key != name}
    altered[name[:-1]] = name[-1] + form[name]
    return altered


def _replay(app: Any, captured: dict[str, Any], form: dict[str, str]) -> int:
    """POST `form` to the captured callback's URL with the captured signature."""
    url = captured["url"].split("#")[0]
    signature = captured["signature"]
    assert RequestValidator(app.values["TWILIO_AUTH_TOKEN"]).validate(url, form, signature)
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def _snapshot(app: Any, rid: str) -> tuple[Any, ...]:
    state = app_store().get_state(rid)
    assert state is not None
    rows = sorted(row["RowKey"] for row in app_store().list_history(rid))
    return state.etag, state.status, rows, len(app.events())


def _captured(app: Any, sid: str, status_field: str, status: str) -> dict[str, Any]:
    path = f"/_emulator/callbacks?sid={sid}&kind=status_callback"
    (callback, *_) = [
        c
        for c in app.emulator(path)["callbacks"]
        if c["params"].get(status_field) == status and c["status"] == 204
    ]
    return callback


def test_an_altered_sms_callback_records_nothing(app: Any, rid: str) -> None:
    app.send_sms({"id": rid, "to": "+15551230004", "body": f"Altered {rid}"})
    state = app.wait_status(rid, "delivered")
    app.wait_events_until("delivered")
    captured = _captured(app, str(state.twilio_sid), "MessageStatus", "delivered")
    before = _snapshot(app, rid)
    # MessageSid=SM… → MessageSi=dSM… (and SmsSid likewise): no SID left in the callback.
    altered = _shifted(_shifted(captured["params"], "MessageSid"), "SmsSid")
    assert _replay(app, captured, altered) == 204
    assert _snapshot(app, rid) == before


def test_an_altered_call_callback_records_nothing(app: Any, rid: str) -> None:
    app.send_call({"id": rid, "to": "+15551230005", "twiml": "<Response><Say>x</Say></Response>"})
    state = app.wait_status(rid, "completed")
    app.wait_events_until("completed")
    captured = _captured(app, str(state.twilio_sid), "CallStatus", "completed")
    before = _snapshot(app, rid)
    # SequenceNumber=3 → SequenceNumbe=r3; and CallSid=CA… → CallSi=dCA….
    for altered in (
        _shifted(captured["params"], "SequenceNumber"),
        _shifted(captured["params"], "CallSid"),
    ):
        assert _replay(app, captured, altered) == 204
    assert _snapshot(app, rid) == before
