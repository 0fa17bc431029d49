"""send_call against Azurite, the emulator, and the app's twiml_voice/status_callback over HTTP."""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zlib
from typing import Any

import pytest

from shared import twilio_gateway
from shared.app_services import app_store
from shared.failure_classes import ClassifiedError, FailureClass, SettingsValue
from shared.webhook_urls import STATUS_CALLBACK_OVERRIDES, TWIML_OVERRIDES


def _number(rid: str) -> str:
    """A callee number of this test's own (callee scripts are per number, emulator-wide)."""
    return f"+1555{zlib.crc32(rid.encode()) % 10_000_000:07d}"


def test_script_call_runs_gather_and_records_the_digits(app: Any, rid: str) -> None:
    to = _number(rid)
    app.emulator("/_emulator/callees", {"number": to, "digits": ["7"]})
    script = [
        {"type": "say", "text": "Hello <caller> & friends\x07!"},
        {"type": "gather", "prompt": "Press a key", "num_digits": 1},
        {"type": "say", "text": "Thanks"},
        {"type": "hangup"},
    ]
    app.send_call({"id": rid, "to": to, "script": script, "voice": "alice"})
    state = app.wait_status(rid, "completed")
    (call,) = app.calls_for(rid)
    assert state.twilio_sid == call["sid"]
    twiml_url = f"{app.values['PUBLIC_BASE_URL']}/api/twiml_voice?rid={rid}"
    assert call["url"] == f"{twiml_url}#{TWIML_OVERRIDES}"
    assert call["status_callback"].endswith(f"#{STATUS_CALLBACK_OVERRIDES}")
    assert call["digits"] == ["7"]
    fetches = app.emulator(f"/_emulator/callbacks?sid={call['sid']}&kind=twiml_fetch")
    bodies = [f["body"] for f in fetches["callbacks"]]
    assert len(bodies) == 2  # the script, then the Gather action with the digits
    assert all(f["status"] == 200 for f in fetches["callbacks"])
    for body in bodies:
        ET.fromstring(body)  # well-formed even with <, & and a control character in the text
    assert fetches["callbacks"][1]["params"]["Digits"] == "7"
    assert fetches["callbacks"][0]["url"] == twiml_url  # fetched (and signed) without the fragment
    said = str(call["transcript"])
    assert "Hello <caller> & friends!" in said
    assert "Thanks" in said
    answers = [r for r in app_store().list_history(rid) if r["RowKey"].startswith("h-answer-")]
    assert len(answers) == 1
    assert '"digits":"7"' in answers[0]["detail"]
    digit_events = [e for e in app.events() if e["detail"].get("digits") == "7"]
    assert len(digit_events) == 1
    assert digit_events[0]["detail"]["step"] == 1


def test_twiml_call_passes_the_twiml(app: Any, rid: str) -> None:
    twiml = "<Response><Say>Inline hello</Say></Response>"
    app.send_call({"id": rid, "to": _number(rid), "twiml": twiml})
    app.wait_status(rid, "completed")
    (call,) = app.calls_for(rid)
    assert call["url"] is None
    assert "Inline hello" in call["twiml"]
    assert app_store().get_state(rid).script is None


def test_url_call_fetches_the_url_with_the_twimlet_form(app: Any, rid: str) -> None:
    url = f"{app.values['PUBLIC_BASE_URL']}/api/twiml_voice?Message=From%20the%20twimlet"
    app.send_call({"id": rid, "to": _number(rid), "url": url})
    app.wait_status(rid, "completed")
    (call,) = app.calls_for(rid)
    assert call["url"] == url
    assert "From the twimlet" in str(call["transcript"])


def test_busy_callee_ends_busy(app: Any, rid: str) -> None:
    app.send_call({"id": rid, "to": "+15550100001", "twiml": "<Response><Say>x</Say></Response>"})
    app.wait_status(rid, "busy")


def test_unreachable_number_is_a_permanent_failure(app: Any, rid: str) -> None:
    app.send_call({"id": rid, "to": "+15005550002", "twiml": "<Response/>"})
    state = app_store().get_state(rid)
    assert (state.status, state.error_code) == ("failed", 21214)


def test_a_call_to_a_malformed_number_is_a_permanent_21211(app: Any, rid: str) -> None:
    # The request contract refuses such a To before it is sent; this is the gateway's answer
    # should one reach Twilio, with every value the call path can take from the settings.
    with pytest.raises(ClassifiedError) as refused:
        twilio_gateway.create_call(
            to="12345",
            from_=app.values["TWILIO_FROM_NUMBER"],
            status_callback=f"{app.values['PUBLIC_BASE_URL']}/api/status_callback?rid={rid}",
            url=f"{app.values['PUBLIC_BASE_URL']}/api/twiml_voice?rid={rid}",
            twiml=None,
            timeout=None,
            machine_detection=None,
            record=None,
            from_settings=frozenset(SettingsValue),
        )
    assert (refused.value.code, refused.value.http_status) == (21211, 400)
    assert refused.value.failure_class == FailureClass.PERMANENT


def test_machine_detection_reaches_the_events(app: Any, rid: str) -> None:
    request = {
        "id": rid,
        "to": "+15550100004",  # emulator: answered by a machine
        "twiml": "<Response><Say>Message for the machine</Say></Response>",
        "machine_detection": "Enable",
        "metadata": {"campaign": "c-9"},
    }
    app.send_call(request)
    app.wait_status(rid, "completed")
    events = app.wait_events_until("completed")
    assert any(e["detail"].get("answered_by", "").startswith("machine") for e in events)
    assert all(e["metadata"] == {"campaign": "c-9"} for e in events)
    (call,) = app.calls_for(rid)
    assert call["machine_detection"] == "Enable"


def test_a_script_whose_twiml_exceeds_64_kb_is_rejected(app: Any, rid: str) -> None:
    # 28000 characters of JSON, but every `<` becomes `&lt;`: about 112 KB of TwiML.
    script = [{"type": "say", "text": "<" * 4000} for _ in range(7)]
    app.send_call({"id": rid, "to": _number(rid), "script": script})  # no exception: no retry
    state = app_store().get_state(rid)
    assert (state.status, state.failure_class) == ("rejected", "bad_input")
    (event,) = app.events()
    assert "TwiML document of" in event["detail"]["reason"]
    assert app.calls_for(rid) == []


def test_a_script_split_by_gathers_fits_in_its_documents(app: Any, rid: str) -> None:
    # The same text, with a gather after every say: each document holds one say (16 KB).
    script: list[dict[str, Any]] = []
    for _ in range(7):
        script += [{"type": "say", "text": "<" * 4000}, {"type": "gather", "num_digits": 1}]
    app.send_call({"id": rid, "to": _number(rid), "script": script[:-1]})
    assert app_store().get_state(rid).status != "rejected"
    assert len(app.calls_for(rid)) == 1
