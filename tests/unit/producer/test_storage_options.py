"""The producer's storage timeouts, retries and pinned API versions keep what the module says:
hung storage fails in under ten seconds, and the pinned versions are ones the SDKs, the
functions host and Azurite agree on."""

from __future__ import annotations

from azure.data.tables import TableServiceClient
from azure.data.tables._base_client import _SUPPORTED_API_VERSIONS

from emulators.functions_host import storage_clients
from producer.storage_options import (
    ATTEMPTS,
    CONNECTION_TIMEOUT_SECONDS,
    QUEUE_API_VERSION,
    READ_TIMEOUT_SECONDS,
    RETRIES,
    RETRY_BACKOFF_SECONDS,
    TABLE_API_VERSION,
)


def test_hung_storage_fails_in_under_ten_seconds() -> None:
    assert ATTEMPTS == 1 + RETRIES
    assert ATTEMPTS * READ_TIMEOUT_SECONDS + RETRIES * RETRY_BACKOFF_SECONDS < 10


def test_one_retry_at_least() -> None:
    # A dropped connection is ridden out, not reported.
    assert RETRIES >= 1
    assert 0 < CONNECTION_TIMEOUT_SECONDS <= READ_TIMEOUT_SECONDS


def test_the_queue_version_is_the_functions_hosts() -> None:
    assert QUEUE_API_VERSION == storage_clients.QUEUE_API_VERSION


def test_the_table_version_is_one_the_sdk_accepts_and_its_default() -> None:
    assert TABLE_API_VERSION in _SUPPORTED_API_VERSIONS
    default = TableServiceClient.from_connection_string("UseDevelopmentStorage=true")
    assert default.api_version == TABLE_API_VERSION
