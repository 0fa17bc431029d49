"""TwiML execution over real HTTP: the emulator fetches TwiML from a test web server (signed, with
Twilio's parameters), follows Gather actions and Redirects, runs every supported verb, and fails the
call with 12100 / 11200 when a document is invalid or unreachable."""

from __future__ import annotations

import socket
from typing import Any

from twilio.rest import Client
from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

FROM = "+15005550006"
TO = "+15551230001"


def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/voice"


def test_twiml_fetch_is_signed_with_twilios_parameters(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    response.say("Hello from the test server", voice="alice")
    response.play("https://cdn.example.com/tone.mp3")
    url = kit.server.page("/voice", response)

    call = client.calls.create(to=TO, from_=FROM, url=url + "?rid=abc")
    view = kit.wait_ended(call.sid)

    (fetch,) = kit.server.requests("/voice")
    assert fetch.method == "POST"
    assert fetch.url.endswith("/voice?rid=abc")
    assert kit.signed(fetch)
    params = fetch.params
    assert params["CallSid"] == call.sid
    assert params["AccountSid"] == kit.emulator.account_sid
    assert (params["From"], params["To"]) == (FROM, TO)
    assert params["CallStatus"] == "in-progress"
    assert params["Direction"] == "outbound-api"
    assert params["ApiVersion"] == "2010-04-01"
    assert view["status"] == "completed"
    assert view["transcript"] == [
        {"verb": "Say", "text": "Hello from the test server", "voice": "alice", "loop": 1},
        {"verb": "Play", "url": "https://cdn.example.com/tone.mp3", "loop": 1},
    ]


def test_get_method_fetches_with_params_in_the_signed_query(client: Client, kit: Any) -> None:
    url = kit.server.page("/voice", VoiceResponse())

    call = client.calls.create(to=TO, from_=FROM, url=url, method="GET")
    kit.wait_ended(call.sid)

    (fetch,) = kit.server.requests("/voice")
    assert fetch.method == "GET"
    assert f"CallSid={call.sid}" in fetch.url
    assert kit.signed(fetch)


def test_gather_and_redirect_drive_the_call(client: Client, kit: Any) -> None:
    kit.callee(number=TO, digits=["2"])
    menu = VoiceResponse()
    gather = Gather(action="/choice?step=1", num_digits=1)
    gather.say("Press 1 for sales, 2 for support")
    menu.append(gather)
    menu.say("We did not get your choice")
    kit.server.page("/menu", menu)

    def choice(params: dict[str, str]) -> VoiceResponse:
        response = VoiceResponse()
        response.say(f"You pressed {params['Digits']}")
        response.redirect("/final", method="GET")
        return response

    kit.server.page("/choice", choice)
    final = VoiceResponse()
    final.say("Goodbye")
    final.hangup()
    kit.server.page("/final", final)

    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/menu"))
    view = kit.wait_ended(call.sid)

    (action,) = kit.server.requests("/choice")
    assert action.method == "POST"
    assert action.url.endswith("/choice?step=1")
    assert action.params["Digits"] == "2"
    assert action.params["CallSid"] == call.sid
    assert kit.signed(action)
    (redirected,) = kit.server.requests("/final")
    assert redirected.method == "GET"
    assert kit.signed(redirected)
    assert view["status"] == "completed"
    assert view["digits"] == ["2"]
    spoken = [entry["text"] for entry in view["transcript"] if entry["verb"] == "Say"]
    assert spoken == ["Press 1 for sales, 2 for support", "You pressed 2", "Goodbye"]
    assert [entry["verb"] for entry in view["transcript"]][-1] == "Hangup"


def test_gather_without_input_goes_on_after_the_gather(client: Client, kit: Any) -> None:
    kit.callee(number=TO, digits=[None])
    response = VoiceResponse()
    response.gather(action="/choice", timeout=3)
    response.say("No input received")
    kit.server.page("/menu", response)

    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/menu"))
    view = kit.wait_ended(call.sid)

    assert kit.server.requests("/choice") == []
    assert view["digits"] == []
    assert view["transcript"][-1]["text"] == "No input received"


def test_action_on_empty_result_posts_empty_digits(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    response.gather(action="/choice", action_on_empty_result=True)
    kit.server.page("/menu", response)
    kit.server.page("/choice", VoiceResponse())

    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/menu"))
    kit.wait_ended(call.sid)

    (action,) = kit.server.requests("/choice")
    assert action.params["Digits"] == ""


def test_invalid_twiml_fails_the_call_with_12100(client: Client, kit: Any) -> None:
    kit.server.page("/voice", "<Response><Say>unclosed</Response>")

    call = client.calls.create(
        to=TO, from_=FROM, url=kit.server.url("/voice"), status_callback=kit.server.url("/status")
    )
    view = kit.wait_ended(call.sid)
    (final,) = kit.callbacks("/status", 1)

    assert view["status"] == "failed"
    assert view["error_code"] == 12100
    assert final.params["CallStatus"] == "failed"
    assert final.params["ErrorCode"] == "12100"
    assert final.params["CallDuration"] == "0"
    fetched = client.calls(call.sid).fetch()
    # Twilio: duration "is empty for busy, failed, unanswered, or ongoing calls" (price too).
    assert (fetched.status, fetched.duration, fetched.price) == ("failed", None, None)


def test_invalid_inline_twiml_fails_the_call_with_12100(client: Client, kit: Any) -> None:
    call = client.calls.create(to=TO, from_=FROM, twiml="<Response><Dance/></Response>")

    view = kit.wait_ended(call.sid)

    assert (view["status"], view["error_code"]) == ("failed", 12100)


def test_unreachable_twiml_url_fails_the_call_with_11200(client: Client, kit: Any) -> None:
    call = client.calls.create(to=TO, from_=FROM, url=closed_port_url())

    view = kit.wait_ended(call.sid)

    assert (view["status"], view["error_code"]) == ("failed", 11200)
    assert kit.get(f"callbacks?sid={call.sid}&kind=twiml_fetch")["callbacks"]


def test_twiml_url_answering_404_fails_the_call_with_11200(client: Client, kit: Any) -> None:
    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/missing"))

    view = kit.wait_ended(call.sid)

    assert (view["status"], view["error_code"]) == ("failed", 11200)


def test_update_with_url_redirects_a_live_call(client: Client, kit: Any) -> None:
    hold = VoiceResponse()
    hold.say("Please hold")
    hold.pause(length=600)
    kit.server.page("/hold", hold)
    after = VoiceResponse()
    after.say("Thanks for holding")
    kit.server.page("/after", after)
    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/hold"))
    kit.wait_status(call.sid, "in-progress")
    kit.callbacks("/hold", 1)

    client.calls(call.sid).update(url=kit.server.url("/after"), method="POST")
    view = kit.wait_ended(call.sid)

    assert kit.signed(kit.server.requests("/after")[0])
    assert view["status"] == "completed"
    assert view["transcript"][-1]["text"] == "Thanks for holding"


def test_update_with_twiml_replaces_the_running_document(client: Client, kit: Any) -> None:
    hold = VoiceResponse()
    hold.pause(length=600)
    call = client.calls.create(to=TO, from_=FROM, twiml=str(hold))
    kit.wait_status(call.sid, "in-progress")

    replacement = VoiceResponse()
    replacement.say("New instructions")
    client.calls(call.sid).update(twiml=str(replacement))
    view = kit.wait_ended(call.sid)

    assert view["transcript"][-1]["text"] == "New instructions"


def test_dial_record_and_message_verbs(client: Client, kit: Any) -> None:
    kit.callee(number="+15557654321", talk_seconds=7)
    response = VoiceResponse()
    dial = Dial(action="/dialed")
    dial.number("+15557654321")
    response.append(dial)
    kit.server.page("/voice", response)
    after_dial = VoiceResponse()
    after_dial.record(action="/recorded", max_length=20)
    kit.server.page("/dialed", after_dial)
    after_record = VoiceResponse()
    after_record.sms("Thanks, we got your message", to="+15551110000")
    kit.server.page("/recorded", after_record)

    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/voice"))
    view = kit.wait_ended(call.sid)

    (dialed,) = kit.server.requests("/dialed")
    assert dialed.params["DialCallStatus"] == "completed"
    assert dialed.params["DialCallDuration"] == "7"
    assert dialed.params["DialCallSid"].startswith("CA")
    (recorded,) = kit.server.requests("/recorded")
    assert recorded.params["RecordingUrl"].startswith(kit.emulator.base_url)
    assert int(recorded.params["RecordingDuration"]) > 0
    assert kit.signed(recorded)
    verbs = [entry["verb"] for entry in view["transcript"]]
    assert verbs == ["Dial", "Record", "Sms"]
    sms = view["transcript"][-1]
    messages = kit.get("messages?to=%2B15551110000")["messages"]
    assert [m["sid"] for m in messages] == [sms["message_sid"]]
    assert messages[0]["body"] == "Thanks, we got your message"
    assert messages[0]["from"] == FROM


def test_dial_to_a_busy_number_reports_busy(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    dial = Dial(action="/dialed")
    dial.number("+15550100001")
    response.append(dial)
    kit.server.page("/voice", response)
    kit.server.page("/dialed", VoiceResponse())

    call = client.calls.create(to=TO, from_=FROM, url=kit.server.url("/voice"))
    kit.wait_ended(call.sid)

    assert kit.server.requests("/dialed")[0].params["DialCallStatus"] == "busy"


def test_reject_ends_the_call_busy(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    response.reject(reason="busy")

    call = client.calls.create(to=TO, from_=FROM, twiml=str(response))

    view = kit.wait_ended(call.sid)
    assert (view["status"], view["duration"]) == ("busy", None)


def test_hangup_stops_the_document(client: Client, kit: Any) -> None:
    response = VoiceResponse()
    response.say("First")
    response.hangup()
    response.say("Never")

    call = client.calls.create(to=TO, from_=FROM, twiml=str(response))
    view = kit.wait_ended(call.sid)

    assert [e.get("text") for e in view["transcript"]] == ["First", None]
    assert view["status"] == "completed"
