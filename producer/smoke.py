"""`python -m producer smoke`: check a deployment end to end without sending anything through
Twilio and at no cost.

1. An unsigned POST to `status_callback` and an unsigned GET to `twiml_voice` must get 403
   (the webhooks check Twilio's signature against PUBLIC_BASE_URL).
2. An SMS request whose `to` is not a phone number is put on the SMS queue; `send_sms` must
   record it as `rejected` in the deliveries table within the deadline, with its history row:
   the app writes that row only after the `rejected` event is on the events queue, so this
   proves the queue trigger, the app's storage identity, the table and the events queue, and
   Twilio is never called for it. A storage error is a failed check, reported like the others.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import requests
from azure.core.credentials import TokenCredential

from producer.errors import (
    DeliveryNotFoundError,
    InvalidInputError,
    StorageUnavailableError,
    storage_errors,
)
from producer.queues import StorageQueues
from producer.settings import ProducerSettings
from producer.status import open_deliveries_table, read_delivery

# A Flex Consumption app scaled to zero takes a while to answer its first request.
HTTP_TIMEOUT_SECONDS = 60
# Not E.164: the app refuses it before Twilio is involved and records the request as rejected.
INVALID_TO = "not-a-phone-number"


@dataclass(frozen=True)
class SmokeCheck:
    """One check and what was seen."""

    name: str
    passed: bool
    seen: str


def _webhook_refused(method: str, url: str) -> SmokeCheck:
    """An unsigned request to a webhook must be refused with 403."""
    name = f"unsigned {method} {url} is refused (403)"
    try:
        response = requests.request(
            method,
            url,
            data={"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"}
            if method == "POST"
            else None,
            timeout=HTTP_TIMEOUT_SECONDS,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        return SmokeCheck(name, False, f"no answer: {type(error).__name__}: {error}")
    return SmokeCheck(name, response.status_code == 403, f"HTTP {response.status_code}")


def _rejected_in_table(
    settings: ProducerSettings,
    credential: TokenCredential | None,
    timeout: float,
    sleep: Callable[[float], None],
) -> SmokeCheck:
    """Enqueue an SMS request with an invalid `to`; wait until the table says `rejected` and
    holds the history row written after its event was published."""
    request_id = f"smoke-{uuid.uuid4()}"
    name = f"request {request_id} (invalid 'to') is recorded as rejected"
    try:
        queues = StorageQueues(settings.storage, credential)
        body = {"id": request_id, "to": INVALID_TO, "body": "smoke test: never sent"}
        queue = queues.text_queue(settings.sms_queue)
        with storage_errors(f"send the smoke request to queue {settings.sms_queue!r}"):
            queue.send_message(json.dumps(body))
        table = open_deliveries_table(settings.storage, settings.deliveries_table, credential)
        deadline = time.monotonic() + timeout
        status = "nothing recorded"
        while True:
            try:
                record = read_delivery(table, request_id)
                current = record.current or {}
                status = f"status {current.get('status')!s}"
                if current.get("status") == "rejected":
                    if any(row.get("status") == "rejected" for row in record.history):
                        reason = current.get("error_message") or current.get("failure_class")
                        seen = f"{status} ({reason})" if reason else status
                        return SmokeCheck(name, True, f"{seen}, its event published")
                    status += ", its event not published yet (no history row)"
            except DeliveryNotFoundError:
                pass
            if time.monotonic() >= deadline:
                return SmokeCheck(name, False, f"after {timeout:.0f}s: {status}")
            sleep(2.0)
    except StorageUnavailableError as error:
        return SmokeCheck(name, False, str(error))


def run_smoke(
    settings: ProducerSettings,
    base_url: str,
    *,
    timeout: float = 180.0,
    credential: TokenCredential | None = None,
    report: Callable[[SmokeCheck], None] = lambda check: None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Run every check against the function app at `base_url` (PUBLIC_BASE_URL) and the storage
    account of `settings`; `report` sees each result; True when all passed."""
    if not base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"the app's base URL must be http(s), got {base_url!r}")
    base = base_url.rstrip("/")
    checks: list[Callable[[], SmokeCheck]] = [
        lambda: _webhook_refused("POST", f"{base}/api/status_callback"),
        lambda: _webhook_refused("GET", f"{base}/api/twiml_voice"),
        lambda: _rejected_in_table(settings, credential, timeout, sleep),
    ]
    passed = True
    for check in checks:
        result = check()
        report(result)
        passed = passed and result.passed
    return passed
