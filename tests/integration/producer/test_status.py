"""Status of a request id, read from rows the app's own delivery store wrote."""

from __future__ import annotations

import json

import pytest
from azure.functions.queue import QueueMessage

import send_sms
from producer.cli import main
from shared.app_services import app_store
from shared.table_properties import CLEARED


@pytest.mark.usefixtures("app_settings")
def test_status_shows_current_state_and_history_in_order(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = "status-r1"
    created = app_store().create_state(
        request_id,
        {"channel": "sms", "status": "received", "status_source": "local", "metadata": {"k": 1}},
    )
    assert created is not None
    app_store().add_history(request_id, "local-1-received", {"status": "received"})
    app_store().update_state(
        request_id, lambda state: {"status": "sending", "attempts": state.attempts + 1}
    )
    app_store().add_history(request_id, "local-1-sending", {"status": "sending"})
    app_store().update_state(
        request_id,
        lambda _: {"status": "sent", "status_source": "twilio", "twilio_sid": "SM" + "b" * 32},
    )
    app_store().add_history(request_id, "cb-sent-0", {"status": "sent", "sid": "SMb"})

    assert main(["status", request_id, "--json", "--connection", storage_connection_string]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["id"] == request_id
    current = document["current"]
    assert (current["status"], current["attempts"]) == ("sent", 1)
    assert current["twilio_sid"] == "SM" + "b" * 32
    assert current["metadata"] == {"k": 1}
    assert [row["status"] for row in document["history"]] == ["received", "sending", "sent"]
    assert [row["row"] for row in document["history"]] == [
        "h-local-1-received",
        "h-local-1-sending",
        "h-cb-sent-0",
    ]

    assert main(["status", request_id, "--connection", storage_connection_string]) == 0
    text = capsys.readouterr().out
    assert f"request {request_id}" in text
    assert "status: sent" in text
    assert "history (3 reports" in text


@pytest.mark.usefixtures("app_settings")
def test_status_of_an_unknown_id_exits_3(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    app_store().create_state("someone-else", {"channel": "call", "status": "received"})
    assert main(["status", "nobody", "--connection", storage_connection_string]) == 3
    assert "no delivery recorded for request id 'nobody'" in capsys.readouterr().err


def test_status_before_any_table_exists_exits_3(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str], names: object
) -> None:
    assert main(["status", "nobody", "--connection", storage_connection_string]) == 3
    assert "no delivery recorded" in capsys.readouterr().err


@pytest.mark.usefixtures("app_settings")
def test_status_joins_split_json_and_hides_cleared_fields(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = "status-split"
    # Longer than one table property: the store splits them into <name>, <name>_2 … <name>_parts.
    metadata = {"notes": "é" * 40_000, "order": 7}
    program = {"script": [{"type": "say", "text": "x" * 70_000}]}
    detail = {"reason": "long", "raw_payload": "y" * 33_000}
    created = app_store().create_state(
        request_id,
        {"channel": "call", "status": "received", "status_source": "local", "metadata": metadata},
    )
    assert created is not None
    app_store().update_state(
        request_id,
        lambda _: {
            "status": "failed",
            "script": program,
            "error_code": 20003,
            "error_message": "Authenticate",
            "failure_class": "configuration",
        },
    )
    # A later Twilio report corrects the failure: the error fields are cleared.
    cleared = CLEARED
    app_store().update_state(
        request_id,
        lambda _: {
            "status": "completed",
            "status_source": "twilio",
            "error_code": cleared,
            "error_message": cleared,
            "failure_class": cleared,
        },
    )
    app_store().add_history(request_id, "local-1-failed", {"status": "failed", "detail": detail})

    connection = ["--connection", storage_connection_string]
    assert main(["status", request_id, "--json", *connection]) == 0
    document = json.loads(capsys.readouterr().out)
    current = document["current"]
    assert (current["status"], current["metadata"], current["script"]) == (
        "completed",
        metadata,
        program,
    )
    assert (current["error_code"], current["error_message"], current["failure_class"]) == (
        None,
        None,
        None,
    )
    (history,) = document["history"]
    assert history["detail"] == detail
    properties = [*current, *history]
    assert not [name for name in properties if name.endswith("_parts") or name[-2:] == "_2"]

    assert main(["status", request_id, *connection]) == 0
    text = capsys.readouterr().out
    assert "metadata: " + json.dumps(metadata, sort_keys=True) in text
    assert "error_code" not in text
    assert "failure_class" not in text
    assert "_parts" not in text


@pytest.mark.usefixtures("app_settings")
def test_status_of_a_request_rejected_for_deep_nesting(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # Too deep for the app's parser, so keyed by the queue message id; the row keeps the first
    # 8000 characters of the payload (cut JSON of ~7900 brackets), which status must still show.
    body = (
        '{"id": "status-deep", "to": "+15005550006", "body": "x", "metadata": {"k": '
        + "[" * 10_000
        + "]" * 10_000
        + "}}"
    ).encode()
    send_sms.main(QueueMessage(id="status-deep-msg", body=body, dequeue_count=1))
    connection = ["--connection", storage_connection_string]
    assert main(["status", "status-deep-msg", "--json", *connection]) == 0
    current = json.loads(capsys.readouterr().out)["current"]
    assert current["status"] == "rejected"
    assert current["raw_payload"] == body.decode()[:8000]  # shown as the text it is
    assert main(["status", "status-deep-msg", *connection]) == 0
    assert "status: rejected" in capsys.readouterr().out
