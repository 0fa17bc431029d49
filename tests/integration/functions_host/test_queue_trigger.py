"""Queue triggers against real Azurite: delete on success, trigger metadata, retries with the
visibility timeout, poison after maxDequeueCount, undecodable messages poisoned unread."""

from __future__ import annotations

import base64
import itertools
from datetime import datetime
from pathlib import Path
from typing import Any

from emulators.azurite import Azurite


def test_success_deletes_the_message_and_delivers_trigger_metadata(
    sample_host: Any, host_tools: Any, azurite: Azurite
) -> None:
    body = '{"to": "+15550001111", "body": "héllo"}'
    sent = host_tools.base64_queue(azurite, sample_host.recorder_queue).send_message(body)

    def seen() -> dict[str, Any] | None:
        matches = [r for r in sample_host.app.records("recorder") if r["id"] == sent.id]
        return matches[0] if matches else None

    record = host_tools.wait_until(seen, "the recorder function to receive the message")
    assert record["body"] == body
    assert record["dequeue_count"] == 1
    assert datetime.fromisoformat(record["insertion_time"]) == sent.inserted_on
    assert datetime.fromisoformat(record["expiration_time"]) == sent.expires_on
    assert datetime.fromisoformat(record["time_next_visible"]) > sent.inserted_on
    assert record["pop_receipt"]

    queue = host_tools.raw_queue(azurite, sample_host.recorder_queue)
    host_tools.wait_until(
        lambda: queue.get_queue_properties().approximate_message_count == 0,
        "the processed message to be deleted",
    )
    output = host_tools.wait_until(
        lambda: (
            (out := sample_host.host.service.tail(200))
            and "Executed 'Functions.recorder' (Succeeded, Id=" in out
            and out
        ),
        "the recorder's invocation in the host log",
    )
    assert (
        f"Executing 'Functions.recorder' (Reason='New queue message detected on "
        f"'{sample_host.recorder_queue}'.', Id=" in output
    )


def test_failures_are_retried_then_the_original_text_goes_to_poison(
    sample_host: Any, host_tools: Any, azurite: Azurite
) -> None:
    body = '{"id": "will-fail"}'
    sent = host_tools.base64_queue(azurite, sample_host.failer_queue).send_message(body)
    original_text = host_tools.raw_queue(azurite, sample_host.failer_queue)
    poison = host_tools.raw_queue(azurite, f"{sample_host.failer_queue}-poison")

    def poisoned() -> list[Any] | None:
        try:
            return list(poison.peek_messages(max_messages=32)) or None
        except Exception:  # the poison queue does not exist until the first poison message
            return None

    messages = host_tools.wait_until(poisoned, "the failing message to reach the poison queue")
    assert len(messages) == 1
    # Still the base64 text the producer put on the queue, not the decoded body.
    assert messages[0].content == base64.b64encode(body.encode()).decode()

    attempts = [r for r in sample_host.app.records("failer") if r["id"] == sent.id]
    assert [a["dequeue_count"] for a in attempts] == [1, 2, 3]  # host.json maxDequeueCount 3
    assert all(a["body"] == body for a in attempts)
    # visibilityTimeout is 1 s: a failed message stays hidden that long before its retry.
    gaps = [later["at"] - earlier["at"] for earlier, later in itertools.pairwise(attempts)]
    assert all(gap >= 0.9 for gap in gaps), gaps
    assert original_text.get_queue_properties().approximate_message_count == 0

    output = sample_host.host.service.tail(400)
    assert "Executed 'Functions.failer' (Failed, Id=" in output
    assert "RuntimeError: failer always fails" in output
    assert (
        f"Message has reached MaxDequeueCount of 3. Moving message to queue "
        f"'{sample_host.failer_queue}-poison'." in output
    )


def test_undecodable_message_goes_to_poison_without_invoking(
    sample_host: Any, host_tools: Any, azurite: Azurite
) -> None:
    raw_text = '{"plain": "json, not base64"}'
    sent = host_tools.raw_queue(azurite, sample_host.recorder_queue).send_message(raw_text)
    poison = host_tools.raw_queue(azurite, f"{sample_host.recorder_queue}-poison")

    def poisoned() -> list[Any] | None:
        try:
            found = [m for m in poison.peek_messages(max_messages=32) if m.content == raw_text]
        except Exception:  # the poison queue does not exist until the first poison message
            return None
        return found or None

    host_tools.wait_until(poisoned, "the undecodable message to reach the poison queue")
    assert not [r for r in sample_host.app.records("recorder") if r["id"] == sent.id]
    assert f"Message decoding has failed! Check MessageEncoding settings. MessageId={sent.id}" in (
        sample_host.host.service.tail(400)
    )


def test_message_already_past_max_dequeue_count_goes_to_poison_without_invoking(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    # A message whose last attempt never finished (host killed mid-invocation) comes back with
    # DequeueCount = maxDequeueCount + 1; the real QueueProcessor poisons it unread.
    queue_name = host_tools.unique_queue("overdue")
    app = host_tools.write_app(tmp_path / "app", values={"OVERDUE_QUEUE": queue_name})
    app.add_function(
        "overdue",
        host_tools.queue_trigger_json("%OVERDUE_QUEUE%"),
        host_tools.queue_function("overdue"),
    )
    queue = host_tools.raw_queue(azurite, queue_name)
    queue.create_queue()
    host_tools.base64_queue(azurite, queue_name).send_message('{"id": "overdue"}')
    for _ in range(3):  # host.json maxDequeueCount is 3; each receive counts as a dequeue
        (received,) = list(queue.receive_messages(max_messages=1, visibility_timeout=30))
        queue.update_message(received, visibility_timeout=0)
    poison = host_tools.raw_queue(azurite, f"{queue_name}-poison")

    def poisoned() -> list[Any] | None:
        try:
            return list(poison.peek_messages(max_messages=32)) or None
        except Exception:  # the poison queue does not exist until the first poison message
            return None

    host = host_tools.start_host(app, azurite)
    try:
        messages = host_tools.wait_until(poisoned, "the overdue message to reach the poison queue")
        output = host.service.tail(200)
    finally:
        host.service.stop()
    assert [m.content for m in messages] == [base64.b64encode(b'{"id": "overdue"}').decode()]
    assert app.records("overdue") == []
    assert "Executing 'Functions.overdue'" not in output
    assert (
        f"Message has reached MaxDequeueCount of 3. Moving message to queue '{queue_name}-poison'."
        in output
    )
    assert queue.get_queue_properties().approximate_message_count == 0


def test_queue_too_long_for_a_poison_queue_leaves_failed_messages_invisible(
    tmp_path: Path, host_tools: Any, azurite: Azurite
) -> None:
    # 57+ characters: "<queue>-poison" would exceed 63, so the real host has no poison queue
    # and leaves a failed message invisible (no release, no poison) instead of failing to poison.
    queue_name = host_tools.unique_queue("long-queue-name-without-room-for-the-poison-suffix")
    assert len(queue_name) >= 57
    app = host_tools.write_app(
        tmp_path / "app", queues={"maxDequeueCount": 1}, values={"LONG_QUEUE": queue_name}
    )
    app.add_function(
        "long",
        host_tools.queue_trigger_json("%LONG_QUEUE%"),
        host_tools.queue_function("long", after='raise RuntimeError("long always fails")'),
    )
    host = host_tools.start_host(app, azurite)
    try:
        host_tools.base64_queue(azurite, queue_name).send_message('{"id": "long"}')
        output = host_tools.wait_until(
            lambda: (
                "has no poison queue: message" in host.service.tail(200) and host.service.tail(200)
            ),
            "the failed message to be left invisible",
        )
    finally:
        host.service.stop()
    assert len(app.records("long")) == 1
    assert f"queue '{queue_name}' has no poison queue" in output
    assert "Could not" not in output
    assert "Moving message to queue" not in output
    queue = host_tools.raw_queue(azurite, queue_name)
    assert queue.get_queue_properties().approximate_message_count == 1  # still there, leased
