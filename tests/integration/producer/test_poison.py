"""Poison queues: list shows what is stuck, replay puts it back base64-encoded, then deletes it."""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import pytest
from azure.storage.queue import QueueServiceClient

from producer.cli import main

if TYPE_CHECKING:  # the fixture's type only; conftest modules are not imported by tests
    from .conftest import Names


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def _request(request_id: str) -> str:
    return json.dumps({"id": request_id, "to": "+15005550006", "body": f"hello {request_id}"})


def _stored(service: QueueServiceClient, queue: str) -> list[str]:
    return [str(m.content) for m in service.get_queue_client(queue).peek_messages(max_messages=32)]


def _exists(service: QueueServiceClient, queue: str) -> bool:
    return any(found.name == queue for found in service.list_queues(name_starts_with=queue))


@pytest.fixture
def poisoned(names: Names, plain_queue: QueueServiceClient) -> dict[str, str]:
    """Three messages on the SMS poison queue: two base64 requests and one a producer sent
    without encoding (plain JSON). Maps message id → stored text."""
    poison = plain_queue.get_queue_client(f"{names.sms}-poison")
    poison.create_queue()
    texts = [_b64(_request("r-1")), _b64(_request("r-2")), _request("r-plain")]
    return {poison.send_message(text).id: text for text in texts}


def test_list_shows_decoded_json_raw_text_and_dequeue_count(
    names: Names,
    poisoned: dict[str, str],
    storage_connection_string: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["poison", "list", names.sms, "--json", "--connection", storage_connection_string]
    assert main(argv) == 0
    listing = json.loads(capsys.readouterr().out)
    assert listing["queue"] == f"{names.sms}-poison"
    assert listing["approximate_count"] == 3
    by_id = {message["message_id"]: message for message in listing["messages"]}
    assert set(by_id) == set(poisoned)
    payload_ids = sorted(m["payload"]["id"] for m in by_id.values() if m["base64"])
    assert payload_ids == ["r-1", "r-2"]
    plain = next(m for m in by_id.values() if not m["base64"])
    assert plain["payload"] is None
    assert plain["text"] == _request("r-plain")
    assert all(m["dequeue_count"] == 0 for m in by_id.values())
    assert all(m["inserted_at"] != "-" for m in by_id.values())

    argv = ["poison", "list", f"{names.sms}-poison", "--connection", storage_connection_string]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "3 message(s)" in text
    assert "raw (not base64)" in text
    assert '"id": "r-1"' in text


def test_replay_moves_everything_back_encoded_and_empties_poison(
    names: Names,
    poisoned: dict[str, str],
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["poison", "replay", names.sms, "--connection", storage_connection_string]
    assert main(argv) == 0
    assert capsys.readouterr().out.count("replayed ") == 3

    stored = _stored(plain_queue, names.sms)
    # The base64 messages come back byte for byte; the plain one now arrives encoded.
    encoded_before = [text for text in poisoned.values() if text != _request("r-plain")]
    assert sorted(stored) == sorted([*encoded_before, _b64(_request("r-plain"))])
    assert _stored(plain_queue, f"{names.sms}-poison") == []
    properties = plain_queue.get_queue_client(f"{names.sms}-poison").get_queue_properties()
    assert properties.approximate_message_count == 0


def test_binary_base64_is_listed_as_binary_and_replayed_unchanged(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = b"\xff\xfe\x00 not UTF-8"
    binary = base64.b64encode(data).decode("ascii")
    poison = plain_queue.get_queue_client(f"{names.sms}-poison")
    poison.create_queue()
    message_id = poison.send_message(binary).id
    connection = ["--connection", storage_connection_string]

    assert main(["poison", "list", names.sms, "--json", *connection]) == 0
    (listed,) = json.loads(capsys.readouterr().out)["messages"]
    assert (listed["message_id"], listed["base64"], listed["utf8"]) == (message_id, True, False)
    assert (listed["payload"], listed["text"]) == (None, binary)
    assert main(["poison", "list", names.sms, *connection]) == 0
    text = capsys.readouterr().out
    assert f"binary (base64 of {len(data)} bytes, not UTF-8): {binary}" in text
    assert "raw (not base64)" not in text

    assert main(["poison", "replay", names.sms, *connection]) == 0
    assert _stored(plain_queue, names.sms) == [binary]
    assert _stored(plain_queue, f"{names.sms}-poison") == []


def test_replay_one_id_leaves_the_others_visible_on_poison(
    names: Names,
    poisoned: dict[str, str],
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
) -> None:
    chosen, *others = poisoned
    argv = [
        "poison",
        "replay",
        names.sms,
        "--id",
        chosen,
        "--connection",
        storage_connection_string,
    ]
    assert main(argv) == 0
    assert _stored(plain_queue, names.sms) == [poisoned[chosen]]
    # Peek sees only visible messages: the replay released the ones it skipped.
    assert sorted(_stored(plain_queue, f"{names.sms}-poison")) == sorted(
        poisoned[other] for other in others
    )


def test_replay_of_an_unknown_id_exits_2_and_changes_nothing(
    names: Names,
    poisoned: dict[str, str],
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["poison", "replay", names.sms, "--id", "no-such-message"]
    assert main([*argv, "--connection", storage_connection_string]) == 2
    assert "no-such-message" in capsys.readouterr().err
    assert sorted(_stored(plain_queue, f"{names.sms}-poison")) == sorted(poisoned.values())
    assert not _exists(plain_queue, names.sms)  # nothing to send: the source queue is not made


@pytest.mark.parametrize("action", ["list", "replay"])
def test_a_mistyped_queue_exits_2_and_creates_nothing(
    action: str,
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    typo = f"nope-{names.sms}"
    argv = ["poison", action, typo, "--connection", storage_connection_string]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert f"'{typo}-poison' does not exist, nor does '{typo}'" in captured.err
    assert "replayed" not in captured.err
    assert not _exists(plain_queue, typo)
    assert not _exists(plain_queue, f"{typo}-poison")


@pytest.mark.parametrize("action", ["list", "replay"])
def test_a_queue_never_poisoned_exits_2_saying_so(
    action: str,
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain_queue.create_queue(names.call)
    argv = ["poison", action, names.call, "--connection", storage_connection_string]
    assert main(argv) == 2
    message = f"'{names.call}-poison' does not exist: nothing from '{names.call}' was ever poisoned"
    assert message in capsys.readouterr().err
    assert not _exists(plain_queue, f"{names.call}-poison")


def test_an_empty_poison_queue_replays_nothing_and_creates_no_source_queue(
    names: Names,
    storage_connection_string: str,
    plain_queue: QueueServiceClient,
    capsys: pytest.CaptureFixture[str],
) -> None:
    plain_queue.create_queue(f"{names.call}-poison")
    assert main(["poison", "list", names.call, "--connection", storage_connection_string]) == 0
    assert "0 message(s)" in capsys.readouterr().out
    assert main(["poison", "replay", names.call, "--connection", storage_connection_string]) == 0
    assert "0 message(s) replayed" in capsys.readouterr().err
    assert not _exists(plain_queue, names.call)
