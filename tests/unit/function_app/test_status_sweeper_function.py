"""The `status_sweeper` timer function: storage that cannot be reached ends the run with one
warning and no traceback (the next run retries); storage answering with an error, and any other
error, still fail the invocation. Storage is the in-memory table fake, made to fail."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import azure.functions as func
import pytest
from azure.core.exceptions import (
    HttpResponseError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
)

import status_sweeper
from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore
from tests.fakes.app_settings import settings_for_test
from tests.fakes.table_storage import FakeTable, ListPublisher

REFUSED = "HTTPConnection(host='127.0.0.1', port=10002): Failed to establish a new connection"


@pytest.fixture(autouse=True)
def _settings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    yield from settings_for_test(monkeypatch)


@pytest.fixture
def table(monkeypatch: pytest.MonkeyPatch) -> FakeTable:
    """The deliveries table the function's recorder uses."""
    fake = FakeTable()
    recorder = DeliveryRecorder(DeliveryStore(fake), ListPublisher())
    monkeypatch.setattr(status_sweeper, "app_recorder", lambda: recorder)
    return fake


def _run() -> None:
    status_sweeper.main(func.TimerRequest(past_due=False))


@pytest.mark.parametrize(
    "error", [ServiceRequestError(REFUSED), ServiceRequestTimeoutError("Connection timed out")]
)
def test_unreachable_storage_is_one_warning_without_a_traceback(
    table: FakeTable, error: ServiceRequestError, caplog: pytest.LogCaptureFixture
) -> None:
    table.failures.append(error)  # the query of the deliveries due
    with caplog.at_level(logging.DEBUG):
        _run()
    assert table.requests["query"] == 1
    noted = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelno) for r in noted] == [("status_sweeper", logging.WARNING)]
    (warning,) = noted
    assert warning.getMessage() == (
        f"status sweep: storage unreachable: {type(error).__name__}: {error}; the next run retries"
    )
    assert warning.exc_info is None


def test_unreachable_storage_while_building_the_recorder_is_one_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def unreachable() -> DeliveryRecorder:
        raise ServiceRequestError(REFUSED)  # creating the table on first use

    monkeypatch.setattr(status_sweeper, "app_recorder", unreachable)
    with caplog.at_level(logging.WARNING):
        _run()
    assert [r.getMessage() for r in caplog.records] == [
        f"status sweep: storage unreachable: ServiceRequestError: {REFUSED}; the next run retries"
    ]


@pytest.mark.parametrize(
    "error",
    [
        HttpResponseError("Server failed to authenticate the request."),  # 403: settings
        ServiceResponseError("Connection aborted while reading the answer"),
        RuntimeError("a bug"),
    ],
)
def test_every_other_error_fails_the_invocation(table: FakeTable, error: Exception) -> None:
    table.failures.append(error)
    with pytest.raises(type(error)):
        _run()


def test_a_run_with_storage_up_logs_no_warning(
    table: FakeTable, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        _run()
    assert table.requests["query"] == 1
    assert caplog.records == []
