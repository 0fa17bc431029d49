"""`make demo`'s logic over a fake stack, a fake producer and a fake emulator API (the demo
itself runs the real stack: tests/e2e/)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from emulators import local_demo
from emulators.local_demo import (
    CALL_TO,
    DIGITS,
    SMS_TO,
    current_status,
    demo,
    print_history,
    wait_final,
)
from producer.errors import DeliveryNotFoundError
from producer.status import DeliveryRecord


class FakeProducer:
    """Delivery records by request id, served in turn (the last one stays)."""

    def __init__(self, records: dict[str, list[DeliveryRecord]] | None = None) -> None:
        self.records = records or {}
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.reads = 0

    def status(self, request_id: str) -> DeliveryRecord:
        self.reads += 1
        answers = self.records.get(request_id)
        if not answers:
            raise DeliveryNotFoundError(request_id)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    def send_sms(self, fields: dict[str, Any]) -> None:
        self.sent.append(("sms", fields))

    def place_call(self, fields: dict[str, Any]) -> None:
        self.sent.append(("call", fields))


def record(request_id: str, status: str | None, history: list[str]) -> DeliveryRecord:
    current = {"status": status} if status is not None else None
    rows = [{"status": s, "at": f"t{n}"} for n, s in enumerate(history)]
    return DeliveryRecord(request_id, current, rows)


def test_the_current_status_is_none_until_something_is_recorded() -> None:
    producer = FakeProducer({"r": [record("r", "sent", ["queued", "sent"])]})
    assert current_status(producer, "r") == "sent"  # type: ignore[arg-type]
    assert current_status(producer, "missing") is None  # type: ignore[arg-type]
    blank = FakeProducer({"r": [record("r", None, [])]})
    assert current_status(blank, "r") is None  # type: ignore[arg-type]


def test_a_final_status_counts_once_its_history_row_is_written() -> None:
    # The state row says delivered before the history row is written.
    early = record("r", "delivered", ["sent"])
    producer = FakeProducer({"r": [early, early, record("r", "delivered", ["sent", "delivered"])]})
    assert wait_final(producer, "r", {"delivered"}) == "delivered"  # type: ignore[arg-type]
    assert producer.reads == 4  # state and history, twice


def test_waiting_gives_up_with_the_last_status_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_demo, "TIMEOUT_SECONDS", 0.01)
    producer = FakeProducer({"r": [record("r", "sent", ["sent"])]})
    assert wait_final(producer, "r", {"delivered"}) == "sent"  # type: ignore[arg-type]


def test_the_history_prints_one_line_per_row_with_error_details(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rows = [
        {"at": "t1", "status": "sent", "detail": ""},
        {"at": "t2", "status": "failed", "error_code": 30003, "detail": "unreachable", "x": 1},
    ]
    producer = FakeProducer({"r": [DeliveryRecord("r", {"status": "failed"}, rows)]})
    print_history(producer, "r")  # type: ignore[arg-type]
    print_history(producer, "missing")  # type: ignore[arg-type]
    assert capsys.readouterr().out.splitlines() == [
        "  t1  sent  {}",
        '  t2  failed  {"error_code": 30003, "detail": "unreachable"}',
        "  (nothing recorded for missing)",
    ]


class FakeStack:
    def __init__(self, twilio_url: str | None) -> None:
        self.twilio_url = twilio_url
        self.host_url = "http://127.0.0.1:7071"


@pytest.fixture
def demo_parts(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The stack, producer and emulator API the demo talks to, replaced and recorded."""
    parts: dict[str, Any] = {
        "twilio_url": "http://127.0.0.1:8701",
        "producer": None,
        "emulator_calls": [],
        "digits": [DIGITS],
        "stacks": [],
        "sms": "delivered",
        "call": "completed",
    }

    @contextmanager
    def running_stack(app_dir: Path, speed: float, echo: bool) -> Iterator[FakeStack]:
        parts["stacks"].append((app_dir, speed, echo))
        yield FakeStack(parts["twilio_url"])

    async def emulator(base_url: str, method: str, path: str, body: object = None) -> Any:
        parts["emulator_calls"].append((base_url, method, path, body))
        if method == "GET":
            entry = {"say": "Hello"}
            return {"calls": [{"transcript": [entry], "digits": parts["digits"]}]}
        return {}

    def producer(settings: object) -> FakeProducer:
        fake = FakeProducer()
        parts["producer"] = fake

        def send_sms(fields: dict[str, Any]) -> None:
            fake.sent.append(("sms", fields))
            fake.records[fields["id"]] = [record(fields["id"], parts["sms"], [parts["sms"]])]

        def place_call(fields: dict[str, Any]) -> None:
            fake.sent.append(("call", fields))
            fake.records[fields["id"]] = [record(fields["id"], parts["call"], [parts["call"]])]

        fake.send_sms = send_sms  # type: ignore[method-assign]
        fake.place_call = place_call  # type: ignore[method-assign]
        return fake

    monkeypatch.setattr(local_demo, "running_stack", running_stack)
    monkeypatch.setattr(local_demo, "emulator", emulator)
    monkeypatch.setattr(local_demo, "Producer", producer)
    monkeypatch.setattr(local_demo, "load_settings", lambda directory: directory)
    monkeypatch.setattr(local_demo, "TIMEOUT_SECONDS", 0.3)
    return parts


def test_the_demo_sends_an_sms_and_a_call_and_succeeds(
    demo_parts: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo(tmp_path, 10.0) == 0
    assert demo_parts["stacks"] == [(tmp_path, 10.0, False)]
    (sms_kind, sms), (call_kind, call) = demo_parts["producer"].sent
    assert (sms_kind, sms["to"]) == ("sms", SMS_TO)
    assert sms["id"].startswith("demo-sms-")
    assert (call_kind, call["to"]) == ("call", CALL_TO)
    assert call["script"] == local_demo.CALL_SCRIPT
    callee, listing = demo_parts["emulator_calls"]
    assert callee == (
        "http://127.0.0.1:8701",
        "POST",
        "callees",
        {"number": CALL_TO, "digits": ["1"]},
    )
    assert listing[1:] == ("GET", "calls?to=%2B15551230002", None)
    out = capsys.readouterr().out
    assert f"SMS {sms['id']}: delivered" in out
    assert f"call {call['id']}: completed" in out
    assert f"  {json.dumps({'say': 'Hello'})}" in out
    assert out.rstrip().endswith("demo succeeded")


@pytest.mark.parametrize(
    ("sms", "call", "digits"),
    [
        ("undelivered", "completed", ["1"]),
        ("delivered", "busy", ["1"]),
        ("delivered", "completed", []),
    ],
)
def test_the_demo_fails_unless_all_three_outcomes_are_right(
    demo_parts: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sms: str,
    call: str,
    digits: list[str],
) -> None:
    demo_parts.update(sms=sms, call=call, digits=digits)
    assert demo(tmp_path, 10.0) == 1
    assert capsys.readouterr().out.rstrip().endswith("demo FAILED")


def test_the_demo_needs_the_twilio_emulator(
    demo_parts: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo_parts["twilio_url"] = None
    assert demo(tmp_path, 10.0) == 2
    assert "make demo needs the Twilio emulator" in capsys.readouterr().err
    assert demo_parts["producer"] is None
