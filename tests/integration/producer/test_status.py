"""Status of a request id, read from rows the app's own delivery store wrote."""

from __future__ import annotations

import json

import pytest

from producer.cli import main
from shared import delivery_store


@pytest.mark.usefixtures("app_settings")
def test_status_shows_current_state_and_history_in_order(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str]
) -> None:
    request_id = "status-r1"
    created = delivery_store.create_state(
        request_id,
        {"channel": "sms", "status": "received", "status_source": "local", "metadata": {"k": 1}},
    )
    assert created is not None
    delivery_store.add_history(request_id, "local-1-received", {"status": "received"})
    delivery_store.update_state(
        request_id, lambda state: {"status": "sending", "attempts": state.attempts + 1}
    )
    delivery_store.add_history(request_id, "local-1-sending", {"status": "sending"})
    delivery_store.update_state(
        request_id,
        lambda _: {"status": "sent", "status_source": "twilio", "twilio_sid": "SM" + "b" * 32},
    )
    delivery_store.add_history(request_id, "cb-sent-0", {"status": "sent", "sid": "SMb"})

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
    delivery_store.create_state("someone-else", {"channel": "call", "status": "received"})
    assert main(["status", "nobody", "--connection", storage_connection_string]) == 3
    assert "no delivery recorded for request id 'nobody'" in capsys.readouterr().err


def test_status_before_any_table_exists_exits_3(
    storage_connection_string: str, capsys: pytest.CaptureFixture[str], names: object
) -> None:
    assert main(["status", "nobody", "--connection", storage_connection_string]) == 3
    assert "no delivery recorded" in capsys.readouterr().err
