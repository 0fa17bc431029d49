"""Requests nested too deeply for the parser or the contract: `rejected` in one run, recorded,
never sent, never retried."""

from __future__ import annotations

from typing import Any

import pytest
from azure.functions.queue import QueueMessage

import send_call
import send_sms
from shared.app_services import app_store


def _nested(rid: str, depth: int, program: str) -> bytes:
    """About 2 bytes a level: 10,000 levels is 20 KB, well under a queue message's 64 KB."""
    head = f'{{"id": "{rid}", "to": "+15551230001", {program}, "metadata": {{"deep": '
    return (head + "[" * depth + "]" * depth + "}}").encode()


@pytest.mark.parametrize(
    ("function", "program", "channel"),
    [
        (send_sms, '"body": "deep"', "sms"),
        (send_call, '"script": [{"type": "say", "text": "deep"}]', "call"),
    ],
)
@pytest.mark.parametrize("depth", [10_000, 500])
def test_deeply_nested_metadata_is_rejected_in_one_run(
    app: Any, rid: str, function: Any, program: str, channel: str, depth: int
) -> None:
    body = _nested(rid, depth, program)
    message_id = f"m-{rid}"
    # The first run records the rejection and returns: the host deletes the message.
    function.main(QueueMessage(id=message_id, body=body, dequeue_count=1))
    # Unreadable as JSON (10,000 levels), the id falls back to the queue message id.
    key = message_id if depth == 10_000 else rid
    state = app_store().get_state(key)
    assert state is not None
    assert (state.status, state.failure_class, state.channel) == ("rejected", "bad_input", channel)
    assert "nests objects/arrays" in (state.error_message or "")
    (event,) = app.events()
    assert (event["id"], event["status"], event["sequence"]) == (key, "rejected", 1)
    assert event["detail"]["raw_payload"] == body.decode()[:8000]
    assert [row["RowKey"] for row in app_store().list_history(key)] == ["h-local-0-rejected"]
    assert app.messages_for(rid) == []
    assert app.calls_for(rid) == []
