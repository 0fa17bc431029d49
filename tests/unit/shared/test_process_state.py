"""`reset_process_state()`: every per-process cache is built once until a reset, then built
again from the settings as they are now."""

from __future__ import annotations

import pytest

from shared import host_config, twilio_gateway
from shared.process_state import reset_process_state
from shared.settings import get_settings
from shared.storage_connection import IdentityConnection, token_credential
from shared.storage_transport import storage_pools
from tests.conftest import Configure

IDENTITY = IdentityConnection(
    "https://acct.queue.core.windows.net", "https://acct.table.core.windows.net", True
)


def test_without_a_reset_every_cache_keeps_what_it_built(configure: Configure) -> None:
    configure()
    first = (
        get_settings(),
        twilio_gateway.get_client(),
        storage_pools(),
        token_credential(IDENTITY),
    )
    again = (
        get_settings(),
        twilio_gateway.get_client(),
        storage_pools(),
        token_credential(IDENTITY),
    )
    assert all(a is b for a, b in zip(first, again, strict=True))


def test_a_reset_builds_each_cache_again(configure: Configure) -> None:
    configure()
    settings, client = get_settings(), twilio_gateway.get_client()
    pools, credential = storage_pools(), token_credential(IDENTITY)
    reset_process_state()
    assert get_settings() is not settings
    assert twilio_gateway.get_client() is not client
    assert storage_pools() is not pools
    assert token_credential(IDENTITY) is not credential


def test_after_a_reset_the_new_settings_are_read(configure: Configure) -> None:
    configure(TWILIO_FROM_NUMBER="+15005550006")
    assert get_settings().twilio_from_number == "+15005550006"
    configure(TWILIO_FROM_NUMBER="+15005550007", TWILIO_HTTP_TIMEOUT_SECONDS="7")
    assert get_settings().twilio_from_number == "+15005550007"
    assert twilio_gateway.get_client().http_client.timeout == 7.0


def test_the_host_configuration_is_read_again_after_a_reset(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, "11")
    reset_process_state()
    assert host_config.max_dequeue_count() == 11
    clean_env.setenv(host_config.MAX_DEQUEUE_COUNT_SETTING, "12")
    assert host_config.max_dequeue_count() == 11
    reset_process_state()
    assert host_config.max_dequeue_count() == 12
