"""Console lines in the style of `func start`, and the functions' logging routed to them."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from emulators.functions_host import invocation_log

STAMP = r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] "


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().out.splitlines()


def test_each_line_of_a_message_gets_its_own_timestamp(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invocation_log.log("first\nsecond")
    printed = lines(capsys)
    assert len(printed) == 2
    assert re.fullmatch(STAMP + "first", printed[0])
    assert re.fullmatch(STAMP + "second", printed[1])


def test_an_empty_message_is_still_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    invocation_log.log("")
    printed = lines(capsys)
    assert len(printed) == 1
    assert re.fullmatch(STAMP, printed[0])


def test_executing_names_function_reason_and_id(capsys: pytest.CaptureFixture[str]) -> None:
    invocation_log.executing("sms_sender", "New queue message", "id-1")
    (line,) = lines(capsys)
    assert line.endswith("Executing 'Functions.sms_sender' (Reason='New queue message', Id=id-1)")


def test_a_success_is_one_line_with_the_rounded_duration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invocation_log.executed("f", "id-2", 12.6, None)
    (line,) = lines(capsys)
    assert line.endswith("Executed 'Functions.f' (Succeeded, Id=id-2, Duration=13ms)")


def test_a_failure_adds_the_exception_and_its_stack(capsys: pytest.CaptureFixture[str]) -> None:
    invocation_log.executed("f", "id-3", 1.0, "ValueError: bad", "Traceback\n  line 1\n\n")
    printed = lines(capsys)
    assert printed[0].endswith("Executed 'Functions.f' (Failed, Id=id-3, Duration=1ms)")
    assert printed[1].endswith("Exception while executing function: Functions.f. Result: Failure")
    assert printed[2].endswith("Exception: ValueError: bad")
    assert printed[3].endswith("Stack: Traceback")
    assert printed[4].endswith("  line 1")
    assert len(printed) == 5  # the stack's trailing blank lines are dropped


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    names = ("azure.functions", "azure.core", "azure.storage")
    saved = (root.handlers[:], root.level, [logging.getLogger(n).level for n in names])
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])
    for name, level in zip(names, saved[2], strict=True):
        logging.getLogger(name).setLevel(level)


@pytest.mark.usefixtures("restore_logging")
def test_routed_logging_prints_info_and_hides_azure_chatter(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invocation_log.route_python_logging()
    logging.getLogger("app").info("sent %s", "SM1")
    logging.getLogger("app").debug("hidden")
    logging.getLogger("azure.core.pipeline").info("request chatter")
    logging.getLogger("azure.storage.queue").warning("storage warning")
    printed = lines(capsys)
    assert len(printed) == 2
    assert re.fullmatch(STAMP + "sent SM1", printed[0])
    assert re.fullmatch(STAMP + "storage warning", printed[1])
    assert len(logging.getLogger().handlers) == 1
