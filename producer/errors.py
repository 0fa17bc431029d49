"""Errors the producer raises, each mapped to one CLI exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import AzureError, ServiceRequestError


class ProducerError(Exception):
    """Base of every error the producer reports to its caller."""

    exit_code = 1


class InvalidInputError(ProducerError):
    """The caller's input is wrong (bad field, unreadable file, bad settings): nothing was sent."""

    exit_code = 2


class StorageUnavailableError(ProducerError):
    """Azure Storage could not be reached or answered with an error."""

    exit_code = 1


class DeliveryNotFoundError(ProducerError):
    """No delivery state is recorded for the request id."""

    exit_code = 3


@contextmanager
def storage_errors(action: str) -> Iterator[None]:
    """Turn Azure SDK errors raised while doing `action` into `StorageUnavailableError`."""
    try:
        yield
    except ServiceRequestError as error:
        raise StorageUnavailableError(f"cannot reach Azure Storage to {action}: {error}") from error
    except AzureError as error:
        # HttpResponseError's first line is its summary; the rest is a raw XML/JSON dump.
        summary = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise StorageUnavailableError(f"Azure Storage failed to {action}: {summary}") from error
