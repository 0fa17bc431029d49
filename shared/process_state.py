"""The per-process caches (settings, Twilio client, storage clients, their connection pools and
credential, host.json facts).

In Azure each is built once per worker process. Tests that change environment variables call
`reset_process_state()` so the next use reads the new settings.
"""

from __future__ import annotations

from shared import app_services
from shared.host_config import max_dequeue_count
from shared.settings import get_settings
from shared.storage_connection import token_credential
from shared.storage_transport import storage_pools
from shared.twilio_gateway import get_client
from shared.webhook_threads import forget_webhook_pool


def reset_process_state() -> None:
    """Forget every cached setting and client; the next call builds them again."""
    for cached in (
        get_settings,
        get_client,
        max_dequeue_count,
        token_credential,
        storage_pools,
    ):
        cached.cache_clear()
    app_services.forget()
    forget_webhook_pool()
