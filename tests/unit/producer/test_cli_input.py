"""CLI argument parsing and input validation: bad input exits 2 before storage is touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from producer.cli import build_parser, main

# Nothing listens on port 1: a command that got past validation would fail with exit 1 here.
UNREACHABLE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
    "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
    "QueueEndpoint=http://127.0.0.1:1/devstoreaccount1;TableEndpoint=http://127.0.0.1:1/devstoreaccount1;"
)


@pytest.fixture(autouse=True)
def _no_local_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run in an empty directory without AzureWebJobsStorage so no real settings leak in."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)


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
    "argv",
    [
        ["sms", "--to", "+15005550006", "--body", "hi"],
        ["status", "some-id"],
        ["poison", "replay", "sms-requests"],
    ],
)
def test_unreachable_storage_exits_1_with_a_clear_message(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*argv, "--connection", UNREACHABLE]) == 1
    assert "cannot reach Azure Storage" in capsys.readouterr().err


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
