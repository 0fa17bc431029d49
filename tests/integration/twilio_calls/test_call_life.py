"""A call's life over real HTTP: progress callbacks (signed, sequenced), outcome numbers, callee
scripts, answering-machine detection, cancel and hang-up through the API, the CPS dial queue and
the fault switches that apply to calls."""

from __future__ import annotations

import email.utils
from typing import Any

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client
from twilio.twiml.voice_response import VoiceResponse

FROM = "+15005550006"
ALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


def twiml(*texts: str, pause: int = 0) -> str:
    response = VoiceResponse()
    for text in texts:
        response.say(text)
    if pause:
        response.pause(length=pause)
    return str(response)


def test_progress_callbacks_are_signed_and_sequenced(client: Client, kit: Any) -> None:
    call = client.calls.create(
        to="+15551230001",
        from_=FROM,
        twiml=twiml("Hello"),
        status_callback=kit.server.url("/status?rid=r1&channel=call"),
        status_callback_event=ALL_EVENTS,
    )

    hits = kit.callbacks("/status", 4)

    assert [h.params["CallStatus"] for h in hits] == [
        "initiated",
        "ringing",
        "in-progress",
        "completed",
    ]
    assert [h.params["SequenceNumber"] for h in hits] == ["0", "1", "2", "3"]
    for hit in hits:
        assert kit.signed(hit), hit
        assert hit.method == "POST"
        assert hit.url.endswith("/status?rid=r1&channel=call")
        assert hit.params["CallSid"] == call.sid
        assert hit.params["AccountSid"] == kit.emulator.account_sid
        assert hit.params["From"] == FROM
        assert hit.params["To"] == "+15551230001"
        assert hit.params["Direction"] == "outbound-api"
        assert hit.params["ApiVersion"] == "2010-04-01"
        assert hit.params["CallbackSource"] == "call-progress-events"
        assert email.utils.parsedate_to_datetime(hit.params["Timestamp"]) is not None
    final = hits[-1].params
    assert int(final["CallDuration"]) >= 1
    assert final["Duration"] == "1"
    assert "CallDuration" not in hits[2].params
    assert kit.wait_ended(call.sid)["callback_statuses"] == [h.params["CallStatus"] for h in hits]


def test_without_events_only_completed_is_sent(client: Client, kit: Any) -> None:
    call = client.calls.create(
        to="+15551230001", from_=FROM, twiml=twiml("Hi"), status_callback=kit.server.url("/status")
    )

    kit.wait_ended(call.sid)
    hits = kit.callbacks("/status", 1)

    assert [(h.params["CallStatus"], h.params["SequenceNumber"]) for h in hits] == [
        ("completed", "0")
    ]


def test_get_status_callbacks_carry_params_in_the_signed_query(client: Client, kit: Any) -> None:
    call = client.calls.create(
        to="+15551230001",
        from_=FROM,
        twiml=twiml("Hi"),
        status_callback=kit.server.url("/status"),
        status_callback_method="GET",
    )

    kit.wait_ended(call.sid)
    (hit,) = kit.callbacks("/status", 1)

    assert hit.method == "GET"
    assert f"CallSid={call.sid}" in hit.url
    assert kit.signed(hit)


@pytest.mark.parametrize(
    ("to", "status", "statuses"),
    [
        ("+15550100001", "busy", ["initiated", "ringing", "busy"]),
        ("+15550100002", "no-answer", ["initiated", "ringing", "no-answer"]),
        ("+15550100003", "failed", ["initiated", "failed"]),
    ],
)
def test_outcome_numbers_end_the_call_as_documented(
    client: Client, kit: Any, to: str, status: str, statuses: list[str]
) -> None:
    call = client.calls.create(
        to=to,
        from_=FROM,
        twiml=twiml("never heard"),
        timeout=5,
        status_callback=kit.server.url("/status"),
        status_callback_event=ALL_EVENTS,
    )

    view = kit.wait_ended(call.sid)
    hits = kit.callbacks("/status", len(statuses))

    assert view["status"] == status
    assert view["duration"] is None
    assert view["transcript"] == []
    assert [h.params["CallStatus"] for h in hits] == statuses
    assert hits[-1].params["CallDuration"] == "0"
    assert client.calls(call.sid).fetch().status == status


def test_callee_script_sets_the_outcome(client: Client, kit: Any) -> None:
    kit.callee(number="+15551239999", outcome="busy")

    call = client.calls.create(to="+15551239999", from_=FROM, twiml=twiml("x"))

    assert kit.wait_ended(call.sid)["status"] == "busy"
    assert kit.get("callees")["callees"][0]["number"] == "+15551239999"


def test_callee_script_is_validated(kit: Any) -> None:
    status, body = kit.post("callees", {"number": "+15551239999", "outcome": "maybe"})

    assert status == 400
    assert "outcome" in body["message"]


def test_callee_hangs_up_after_talk_seconds(client: Client, kit: Any) -> None:
    kit.callee(number="+15551230077", talk_seconds=5)

    call = client.calls.create(to="+15551230077", from_=FROM, twiml=twiml("Hi", pause=600))
    view = kit.wait_ended(call.sid)

    assert view["status"] == "completed"
    assert view["transcript"][-1] == {"verb": "Hangup", "by": "callee"}
    assert int(view["duration"]) < 600


@pytest.mark.parametrize(
    ("to", "mode", "script", "answered_by"),
    [
        ("+15551230001", "Enable", None, "human"),
        ("+15550100004", "Enable", None, "machine_start"),
        ("+15550100004", "DetectMessageEnd", None, "machine_end_beep"),
        ("+15550100005", "Enable", None, "fax"),
        ("+15551230002", "DetectMessageEnd", "machine_end_silence", "machine_end_silence"),
    ],
)
def test_machine_detection_reports_answered_by(
    client: Client, kit: Any, to: str, mode: str, script: str | None, answered_by: str
) -> None:
    if script:
        kit.callee(number=to, answered_by=script)
    kit.server.page("/voice", twiml("Hello"))

    call = client.calls.create(
        to=to,
        from_=FROM,
        url=kit.server.url("/voice"),
        machine_detection=mode,
        status_callback=kit.server.url("/status"),
    )
    kit.wait_ended(call.sid)

    assert client.calls(call.sid).fetch().answered_by == answered_by
    assert kit.server.requests("/voice")[0].params["AnsweredBy"] == answered_by
    assert kit.callbacks("/status", 1)[0].params["AnsweredBy"] == answered_by


def test_without_machine_detection_answered_by_is_null(client: Client, kit: Any) -> None:
    call = client.calls.create(to="+15550100004", from_=FROM, twiml=twiml("Hi"))

    kit.wait_ended(call.sid)

    assert client.calls(call.sid).fetch().answered_by is None


def test_completing_an_in_progress_call_hangs_it_up(client: Client, kit: Any) -> None:
    call = client.calls.create(
        to="+15551230001",
        from_=FROM,
        twiml=twiml("Please hold", pause=600),
        status_callback=kit.server.url("/status"),
    )
    kit.wait_status(call.sid, "in-progress")

    updated = client.calls(call.sid).update(status="completed")

    assert updated.status == "completed"
    (hit,) = kit.callbacks("/status", 1)
    assert hit.params["CallStatus"] == "completed"
    assert kit.view(call.sid)["transcript"][-1] == {"verb": "Hangup", "by": "api"}


def test_canceling_an_in_progress_call_does_nothing(client: Client, kit: Any) -> None:
    call = client.calls.create(to="+15551230001", from_=FROM, twiml=twiml("Hold", pause=600))
    kit.wait_status(call.sid, "in-progress")

    assert client.calls(call.sid).update(status="canceled").status == "in-progress"


def test_canceling_a_ringing_call_reports_canceled(client: Client, kit: Any) -> None:
    kit.callee(number="+15551230055", ring_seconds=30)
    call = client.calls.create(
        to="+15551230055",
        from_=FROM,
        twiml=twiml("never"),
        status_callback=kit.server.url("/status"),
    )
    kit.wait_status(call.sid, "ringing")

    assert client.calls(call.sid).update(status="canceled").status == "canceled"
    (hit,) = kit.callbacks("/status", 1)
    assert hit.params["CallStatus"] == "canceled"


def test_canceling_a_queued_call_fires_no_callbacks(slow_cps: tuple[Client, Any]) -> None:
    client, kit = slow_cps
    calls = [
        client.calls.create(
            to="+15551230001",
            from_=FROM,
            twiml=twiml("Hi"),
            status_callback=kit.server.url(f"/status{n}"),
        )
        for n in range(3)
    ]

    canceled = client.calls(calls[2].sid).update(status="canceled")
    for call in calls[:2]:
        kit.wait_ended(call.sid)
        kit.callbacks(f"/status{calls.index(call)}", 1)

    assert canceled.status == "canceled"
    assert kit.view(calls[2].sid)["callback_statuses"] == []
    assert kit.server.requests("/status2") == []
    assert kit.view(calls[2].sid)["start_time"] is None


def test_calls_beyond_the_cps_wait_in_the_queue(slow_cps: tuple[Client, Any]) -> None:
    client, kit = slow_cps

    calls = [
        client.calls.create(to="+15551230001", from_=FROM, twiml=twiml("Hi")) for _ in range(3)
    ]
    queue_times = [int(call.queue_time) for call in calls]

    # One call every 100 emulated seconds: each waits about 100 s longer than the one before.
    assert queue_times[0] < queue_times[1] < queue_times[2]
    assert queue_times[2] - queue_times[0] > 100_000
    for call in calls:
        assert kit.wait_ended(call.sid)["status"] == "completed"


def test_record_true_reports_the_recording_on_completed(client: Client, kit: Any) -> None:
    call = client.calls.create(
        to="+15551230001",
        from_=FROM,
        twiml=twiml("Recorded call"),
        record=True,
        status_callback=kit.server.url("/status"),
    )

    kit.wait_ended(call.sid)
    (hit,) = kit.callbacks("/status", 1)

    assert hit.params["RecordingUrl"].startswith(
        f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Recordings/RE"
    )
    assert hit.params["RecordingSid"].startswith("RE")


def test_error_500_after_store_keeps_the_call(client: Client, kit: Any) -> None:
    status, _ = kit.post("faults", {"error_500_after_store": {"rate": 1, "count": 1}})
    assert status == 200

    with pytest.raises(TwilioRestException) as error:
        client.calls.create(to="+15551230001", from_=FROM, twiml=twiml("Hi"))

    assert (error.value.status, error.value.code) == (500, 20500)
    (stored,) = client.calls.list(to="+15551230001")
    assert kit.wait_ended(stored.sid)["status"] == "completed"


def test_error_429_stores_nothing(client: Client, kit: Any) -> None:
    kit.post("faults", {"error_429": {"rate": 1, "count": 1}})

    with pytest.raises(TwilioRestException) as error:
        client.calls.create(to="+15551230001", from_=FROM, twiml=twiml("Hi"))

    assert (error.value.status, error.value.code) == (429, 20429)
    assert client.calls.list() == []


def test_duplicate_callbacks_repeat_the_idempotency_token(client: Client, kit: Any) -> None:
    kit.post("faults", {"duplicate_callbacks": {"rate": 1}})

    call = client.calls.create(
        to="+15551230001", from_=FROM, twiml=twiml("Hi"), status_callback=kit.server.url("/status")
    )
    kit.wait_ended(call.sid)
    first, second = kit.callbacks("/status", 2)

    assert first.params == second.params
    assert first.idempotency_token == second.idempotency_token
    assert kit.signed(second)


def test_out_of_order_callbacks_still_carry_their_sequence(client: Client, kit: Any) -> None:
    kit.post("faults", {"out_of_order_callbacks": {"rate": 1, "count": 1}})

    call = client.calls.create(
        to="+15551230001",
        from_=FROM,
        twiml=twiml("Hi"),
        status_callback=kit.server.url("/status"),
        status_callback_event=ALL_EVENTS,
    )
    kit.wait_ended(call.sid)
    kit.callbacks("/status", 4)
    arrived = [h.params["SequenceNumber"] for h in kit.server.requests("/status")]

    assert sorted(arrived) == ["0", "1", "2", "3"]
    assert arrived != ["0", "1", "2", "3"]


def test_reset_forgets_calls_and_callees(client: Client, kit: Any) -> None:
    kit.callee(number="+15551230001", outcome="busy")
    client.calls.create(to="+15551230001", from_=FROM, twiml=twiml("Hi"))

    status, _ = kit.post("reset", {})

    assert status == 200
    assert kit.get("calls")["calls"] == []
    assert kit.get("callees")["callees"] == []
    assert client.calls.list() == []
