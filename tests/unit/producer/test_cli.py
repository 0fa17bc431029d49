"""The CLI: arguments map to contract fields, bad input exits 2 before storage is touched, each
command prints what it did, and every error has its exit code. Storage is in memory
(tests/unit/producer/conftest.py)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from azure.core.exceptions import ServiceRequestError

import producer.cli
from producer.cli import build_parser, main
from producer.queues import decode_message_text, encode_message_text
from producer.settings import ProducerSettings
from producer.smoke import SmokeCheck
from shared.delivery_store import DeliveryStore
from shared.storage_connection import IdentityConnection
from tests.fakes.queue_storage import FakeQueueService
from tests.unit.producer.conftest import FakeTableService

# Nothing listens on port 1: were the in-memory storage ever bypassed, nothing would be reached.
UNREACHABLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


def test_sms_arguments_map_to_contract_fields() -> None:
    media = ["--media-url", "https://a.example/1.png", "--media-url", "https://a.example/2.png"]
    args = build_parser().parse_args(
        ["sms", "--to", "+15005550006", "--body", "hi", "--from", "+15005550001", *media]
    )
    assert (args.to, args.body, args.from_) == ("+15005550006", "hi", "+15005550001")
    assert args.media_url == ["https://a.example/1.png", "https://a.example/2.png"]
    assert args.id is None


def test_call_needs_exactly_one_program(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["call", "--to", "+15005550006", "--connection", UNREACHABLE]) == 2
    assert (
        "one of the arguments --say --script --twiml --url is required" in capsys.readouterr().err
    )
    both = ["call", "--to", "+15005550006", "--say", "hi", "--twiml", "<Response/>"]
    assert main(both) == 2
    assert "not allowed with argument" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "field", "problem"),
    [
        (["sms", "--to", "15005550006", "--body", "hi"], "to", "should match pattern"),
        (["sms", "--to", "+15005550006"], "request", "one of body or media_urls is required"),
        (["sms", "--to", "+15005550006", "--body", "x" * 1601], "body", "at most 1600"),
        (["sms", "--to", "+15005550006", "--body", "hi", "--id", "a/b"], "id", "pattern"),
        (
            ["sms", "--to", "+15005550006", "--media-url", "ftp://x"],
            "media_urls.0",
            "should match pattern",
        ),
        (["call", "--to", "+15005550006", "--say", ""], "script.0.say.text", "at least 1"),
        (["call", "--to", "+1", "--twiml", "<Response/>"], "to", "should match pattern"),
        (["call", "--to", "+15005550006", "--url", "nope"], "url", "should match pattern"),
        (["call", "--to", "+15005550006", "--twiml", "notxml"], "twiml", "not well-formed XML"),
        (["call", "--to", "+15005550006", "--twiml", "<Say>hi</Say>"], "twiml", "<Response>"),
    ],
)
def test_invalid_request_exits_2_naming_the_field(
    argv: list[str], field: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--connection", UNREACHABLE]) == 2
    err = capsys.readouterr().err
    assert f"{field}: " in err
    assert problem in err


def test_script_file_steps_are_validated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"type": "say", "text": "hi"}, {"type": "dance"}]))
    argv = ["call", "--to", "+15005550006", "--script", str(script), "--connection", UNREACHABLE]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "script.1" in err
    assert "dance" in err


def test_unreadable_or_non_json_script_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = ["call", "--to", "+15005550006", "--script", str(tmp_path / "none.json")]
    assert main([*missing, "--connection", UNREACHABLE]) == 2
    assert "script: cannot read" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    argv = ["call", "--to", "+15005550006", "--script", str(broken), "--connection", UNREACHABLE]
    assert main(argv) == 2
    assert "is not JSON" in capsys.readouterr().err


def test_metadata_must_be_a_json_object(capsys: pytest.CaptureFixture[str]) -> None:
    base = ["sms", "--to", "+15005550006", "--body", "hi", "--connection", UNREACHABLE]
    assert main([*base, "--metadata", "{nope"]) == 2
    assert "metadata: --metadata is not JSON" in capsys.readouterr().err
    assert main([*base, "--metadata", "[1]"]) == 2
    assert "metadata: " in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "operation"),
    [
        (["sms", "--to", "+15005550006", "--body", "hi"], "create_queue"),
        (["poison", "replay", "sms-requests"], "get_queue_properties"),
        (["events"], "create_queue"),
    ],
)
def test_unreachable_storage_exits_1_with_a_clear_message(
    argv: list[str],
    operation: str,
    queue_service: FakeQueueService,
    capsys: pytest.CaptureFixture[str],
) -> None:
    queue_service.failures[operation].append(ServiceRequestError("Connection refused"))
    assert main([*argv, "--connection", UNREACHABLE]) == 1
    assert "error: cannot reach Azure Storage" in capsys.readouterr().err


def test_unreachable_table_exits_1(
    table_service: FakeTableService, capsys: pytest.CaptureFixture[str]
) -> None:
    table_service.get_table_client("deliveries").failures.append(ServiceRequestError("refused"))
    assert main(["status", "r1", "--connection", UNREACHABLE]) == 1
    assert "error: cannot reach Azure Storage to read delivery state of 'r1'" in (
        capsys.readouterr().err
    )


def test_malformed_connection_string_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["sms", "--to", "+15005550006", "--body", "hi", "--connection", "nonsense"]
    assert main(argv) == 2
    assert "connection string" in capsys.readouterr().err


def test_unknown_command_and_help_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["fly"]) == 2
    assert main(["--help"]) == 0
    assert "poison" in capsys.readouterr().out


@pytest.mark.parametrize("queue", ["SMS", "a--b", "x" * 60])
def test_invalid_queue_name_exits_2(queue: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["poison", "list", queue, "--connection", UNREACHABLE]) == 2
    assert "is not valid" in capsys.readouterr().err


def test_queue_url_without_table_url_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["status", "x", "--queue-url", "https://a.queue.core.windows.net"]
    assert main(argv) == 2
    assert "--queue-url and --table-url must be given together" in capsys.readouterr().err


def test_an_http_endpoint_is_refused_by_option_name(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["status", "x", "--queue-url", "http://a.queue", "--table-url", "https://a.table"]
    assert main(argv) == 2
    assert "--queue-url must be the https URL" in capsys.readouterr().err


def sent(service: FakeQueueService, queue: str) -> list[dict[str, object]]:
    return [json.loads(decode_message_text(text) or "") for text in service.contents(queue)]


def test_sms_enqueues_and_prints_the_id(
    queue_service: FakeQueueService, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["sms", "--to", "+15005550006", "--body", "hi", "--metadata", '{"order": 7}']
    assert main([*argv, "--id", "r1", "--connection", UNREACHABLE]) == 0
    out, err = capsys.readouterr()
    assert out == "r1\n"
    message_id = queue_service.queues["sms-requests"][0].id
    assert err == f"enqueued on sms-requests (queue message {message_id})\n"
    [request] = sent(queue_service, "sms-requests")
    assert request == {"id": "r1", "to": "+15005550006", "body": "hi", "metadata": {"order": 7}}


def test_sms_without_id_prints_the_new_one(
    queue_service: FakeQueueService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sms", "--to", "+15005550006", "--body", "hi"]) == 0
    [request] = sent(queue_service, "sms-requests")
    assert capsys.readouterr().out == f"{request['id']}\n"


def test_queue_names_come_from_the_environment(
    queue_service: FakeQueueService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALL_QUEUE_NAME", "my-calls")
    assert main(["call", "--to", "+15005550006", "--url", "https://a.example/t"]) == 0
    assert list(queue_service.queues) == ["my-calls"]


def test_call_say_becomes_a_one_step_script(queue_service: FakeQueueService) -> None:
    argv = ["call", "--to", "+15005550006", "--say", "hello", "--voice", "alice", "--record"]
    assert main([*argv, "--timeout", "20", "--machine-detection", "Enable"]) == 0
    [request] = sent(queue_service, "call-requests")
    assert request["script"] == [{"type": "say", "text": "hello"}]
    assert (request["voice"], request["record"], request["timeout"]) == ("alice", True, 20)
    assert request["machine_detection"] == "Enable"


def test_call_script_file_is_sent_as_steps(tmp_path: Path, queue_service: FakeQueueService) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps([{"type": "say", "text": "hi"}]))
    assert main(["call", "--to", "+15005550006", "--script", str(script)]) == 0
    assert sent(queue_service, "call-requests")[0]["script"] == [{"type": "say", "text": "hi"}]


def test_status_prints_the_record_or_exits_3(
    table_service: FakeTableService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "r1"]) == 3
    assert capsys.readouterr().err == "error: no delivery recorded for request id 'r1'\n"
    DeliveryStore(table_service.get_table_client("deliveries")).create_state(
        "r1", {"channel": "sms", "status": "sent"}
    )
    assert main(["status", "r1"]) == 0
    assert capsys.readouterr().out.startswith("request r1\n  status: sent\n")
    assert main(["status", "r1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["current"]["status"] == "sent"


def put_event(service: FakeQueueService, request_id: str) -> None:
    event = {
        "id": request_id,
        "channel": "sms",
        "status": "sent",
        "twilio_sid": None,
        "at": "2026-11-28T23:00:00Z",
        "sequence": 1,
    }
    service.put("delivery-events", encode_message_text(json.dumps(event)))


def test_events_are_printed_and_consumed_unless_peeked(
    queue_service: FakeQueueService, capsys: pytest.CaptureFixture[str]
) -> None:
    put_event(queue_service, "r1")
    queue_service.put("delivery-events", "garbage")
    assert main(["events", "--peek", "--json"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["id"] == "r1"
    assert "is not a delivery event (not base64 of UTF-8 text): garbage" in err
    assert len(queue_service.queues["delivery-events"]) == 2
    assert main(["events"]) == 0
    assert capsys.readouterr().out == "2026-11-28T23:00:00+00:00 r1 sms #1 sent sid=-\n"
    assert queue_service.queues["delivery-events"] == []


def test_events_follow_ends_cleanly_on_ctrl_c(
    queue_service: FakeQueueService,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    put_event(queue_service, "r1")

    def interrupted(seconds: float) -> None:
        assert seconds == 0.5
        raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", interrupted)
    assert main(["events", "--follow", "--interval", "0.5"]) == 0
    assert " r1 " in capsys.readouterr().out
    assert queue_service.queues["delivery-events"] == []


def test_poison_list_and_replay(
    queue_service: FakeQueueService, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["poison", "list", "sms-requests"]) == 2
    assert "check the queue name" in capsys.readouterr().err
    first = queue_service.put("sms-requests-poison", encode_message_text('{"id": "a"}'))
    queue_service.put("sms-requests-poison", encode_message_text('{"id": "b"}'))
    assert main(["poison", "list", "sms-requests", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["approximate_count"] == 2
    assert main(["poison", "replay", "sms-requests", "--id", first.id]) == 0
    out, err = capsys.readouterr()
    new_id = queue_service.queues["sms-requests"][0].id
    assert (out, err) == (f"replayed {first.id} as {new_id}\n", "1 message(s) replayed\n")
    assert main(["poison", "replay", "sms-requests-poison"]) == 0
    assert [request["id"] for request in sent(queue_service, "sms-requests")] == ["a", "b"]


def test_smoke_needs_an_app_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smoke"]) == 2
    assert "no app URL: pass --base-url or --azd-env" in capsys.readouterr().err


def test_smoke_prints_each_check_and_exits_by_the_result(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = [SmokeCheck("webhook", True, "HTTP 403"), SmokeCheck("table", False, "nothing")]
    given: dict[str, object] = {}

    def run_smoke(
        settings: ProducerSettings,
        base_url: str,
        *,
        timeout: float,
        report: Callable[[SmokeCheck], None],
    ) -> bool:
        given.update(base_url=base_url, timeout=timeout)
        for check in checks:
            report(check)
        return all(check.passed for check in checks)

    monkeypatch.setattr(producer.cli, "run_smoke", run_smoke)
    assert main(["smoke", "--base-url", "https://app.example", "--timeout", "5"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "smoke test of https://app.example",
        "  ok   webhook: HTTP 403",
        "  FAIL table: nothing",
        "smoke test FAILED",
    ]
    assert given == {"base_url": "https://app.example", "timeout": 5.0}
    checks.pop()
    assert main(["smoke", "--base-url", "https://app.example"]) == 0
    assert capsys.readouterr().out.endswith("smoke test passed\n")
    assert given["timeout"] == 180.0


def test_smoke_takes_the_app_from_the_azd_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = tmp_path / ".azure" / "dev"
    environment.mkdir(parents=True)
    (environment / ".env").write_text(
        'PUBLIC_BASE_URL="https://app.example"\nAZURE_FUNCTION_APP_NAME="func-1"\n'
        "AZURE_STORAGE_QUEUE_ENDPOINT=https://acct.queue.core.windows.net\n"
        "AZURE_STORAGE_TABLE_ENDPOINT=https://acct.table.core.windows.net\n"
    )
    urls: list[str] = []

    def run_smoke(settings: ProducerSettings, base_url: str, **_: object) -> bool:
        assert settings.storage == IdentityConnection(
            "https://acct.queue.core.windows.net", "https://acct.table.core.windows.net"
        )
        urls.append(base_url)
        return True

    monkeypatch.setattr(producer.cli, "run_smoke", run_smoke)
    assert main(["smoke", "--azd-env", "dev"]) == 0
    assert capsys.readouterr().out.startswith(
        "smoke test of https://app.example (function app func-1)\n"
    )
    assert urls == ["https://app.example"]
