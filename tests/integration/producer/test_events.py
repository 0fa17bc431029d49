"""Reading delivery events the app publishes: consume, peek, follow."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from azure.storage.queue import QueueServiceClient

from producer import events
from producer.cli import main
from producer.queues import StorageQueues
from shared.app_services import app_publisher
from shared.contracts import DeliveryEvent
from shared.storage_connection import ConnectionString

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not imported by tests
    from .conftest import Names

REPO_ROOT = Path(__file__).resolve().parents[3]


def _event(request_id: str, status: str, sequence: int, **extra: object) -> DeliveryEvent:
    return DeliveryEvent.model_validate(
        {
            "id": request_id,
            "channel": "sms",
            "status": status,
            "twilio_sid": "SM" + "a" * 32,
            "at": datetime(2026, 11, 28, 23, 0, sequence, tzinfo=UTC),
            "sequence": sequence,
            "metadata": {"order": 7},
            **extra,
        }
    )


def _remaining(service: QueueServiceClient, queue: str) -> int:
    return len(service.get_queue_client(queue).peek_messages(max_messages=32))


@pytest.mark.usefixtures("app_settings")
def test_events_are_printed_as_json_and_consumed(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    published = [
        _event("r-1", "sent", 1),
        _event("r-1", "undelivered", 2, error_code=30003, error_message="Unreachable"),
    ]
    for event in published:
        app_publisher().publish(event)
    assert main(["events", "--json", "--connection", storage_connection_string]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [DeliveryEvent.model_validate_json(line) for line in lines] == published
    assert _remaining(plain_queue, names.events) == 0


@pytest.mark.usefixtures("app_settings")
def test_peek_prints_readable_lines_and_leaves_events(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app_publisher().publish(_event("r-2", "delivered", 3, detail={"price": "-0.0075"}))
    assert main(["events", "--peek", "--connection", storage_connection_string]) == 0
    line = capsys.readouterr().out.strip()
    assert "r-2 sms #3 delivered" in line
    assert '"price": "-0.0075"' in line
    assert _remaining(plain_queue, names.events) == 1


def test_a_message_that_is_not_an_event_is_reported_not_hidden(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue = plain_queue.get_queue_client(names.events)
    queue.create_queue()
    queue.send_message("{not base64}")
    assert main(["events", "--connection", storage_connection_string]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "not base64" in captured.err
    assert "{not base64}" in captured.err


@pytest.mark.usefixtures("app_settings")
def test_follow_prints_new_events_until_interrupted(
    names: Names, storage_connection_string: str, plain_queue: QueueServiceClient
) -> None:
    env = {**os.environ, "AzureWebJobsStorage": storage_connection_string}
    argv = [sys.executable, "-m", "producer", "events", "--follow", "--json", "--interval", "0.1"]
    with subprocess.Popen(
        argv, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as follower:
        assert follower.stdout is not None
        app_publisher().publish(_event("r-3", "sent", 1))
        ready, _, _ = select.select([follower.stdout], [], [], 60)
        assert ready, "no event printed within 60 s"
        line = follower.stdout.readline()
        follower.send_signal(signal.SIGINT)
        assert follower.wait(timeout=30) == 0
    assert DeliveryEvent.model_validate_json(line) == _event("r-3", "sent", 1)
    assert _remaining(plain_queue, names.events) == 0


@pytest.mark.usefixtures("app_settings")
def test_an_event_deleted_meanwhile_counts_as_consumed(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The claim on an event runs out while its consumer is busy; another consumer takes and
    deletes it; the first one's delete then finds nothing, which is not an error."""
    monkeypatch.setattr(events, "CLAIM_SECONDS", 1)
    app_publisher().publish(_event("r-4", "sent", 1))
    app_publisher().publish(_event("r-4", "delivered", 2))
    queues = StorageQueues(ConnectionString(storage_connection_string))
    slow = events.read_events(queues, names.events, delete=True)
    first = next(slow)
    time.sleep(1.5)  # the claim runs out while the first consumer works on the event
    taken = list(events.read_events(queues, names.events, delete=True))
    assert first.event in [r.event for r in taken]
    # Deleting what the other consumer deleted raises nothing; the rest of the first consumer's
    # batch ran out too, so it sees those events again (at least once), nothing new.
    rest = list(slow)
    assert {r.message_id for r in rest} <= {r.message_id for r in taken}
    assert _remaining(plain_queue, names.events) == 0
