"""The producer's errors: one exit code each, and Azure SDK errors turned into a one-line
`StorageUnavailableError` that names what was being done."""

from __future__ import annotations

import pytest
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from producer.errors import (
    DeliveryNotFoundError,
    InvalidInputError,
    ProducerError,
    StorageUnavailableError,
    storage_errors,
)


def test_each_error_has_its_exit_code() -> None:
    assert ProducerError.exit_code == 1
    assert StorageUnavailableError.exit_code == 1
    assert InvalidInputError.exit_code == 2
    assert DeliveryNotFoundError.exit_code == 3
    for error in (InvalidInputError, StorageUnavailableError, DeliveryNotFoundError):
        assert issubclass(error, ProducerError)


def test_an_unreachable_account_says_so() -> None:
    with pytest.raises(StorageUnavailableError) as raised, storage_errors("send request r1"):
        raise ServiceRequestError("Connection refused")
    assert str(raised.value) == "cannot reach Azure Storage to send request r1: Connection refused"
    assert isinstance(raised.value.__cause__, ServiceRequestError)


def test_a_service_error_keeps_only_its_summary_line() -> None:
    error = HttpResponseError("Operation returned an invalid status 'Forbidden'\nContent: <xml/>")
    with pytest.raises(StorageUnavailableError) as raised, storage_errors("peek at queue 'q'"):
        raise error
    assert str(raised.value) == (
        "Azure Storage failed to peek at queue 'q': Operation returned an invalid status "
        "'Forbidden'"
    )


@pytest.mark.parametrize("error", [ServiceResponseError(""), AzureError("")])
def test_an_error_without_text_is_named_by_its_type(error: AzureError) -> None:
    with pytest.raises(StorageUnavailableError) as raised, storage_errors("do x"):
        raise error
    assert str(raised.value) == f"Azure Storage failed to do x: {type(error).__name__}"


def test_other_errors_and_success_pass_through() -> None:
    with pytest.raises(KeyError), storage_errors("do x"):
        raise KeyError("not storage")
    with storage_errors("do x"):
        done = True
    assert done
