"""`make demo`: the local stack, one SMS and one call with a Gather, end to end, non-interactive.

Exits 0 only if the SMS reached `delivered` and the call reached `completed` with its digits
recorded; prints both delivery histories and the call's transcript either way.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from emulators.local_stack import running_stack
from producer.client import Producer
from producer.errors import DeliveryNotFoundError
from producer.settings import load_settings

SMS_TO = "+15551230001"
CALL_TO = "+15551230002"
DIGITS = "1"
CALL_SCRIPT: list[dict[str, Any]] = [
    {"type": "say", "text": "Hello from twilio-azure-functions."},
    {"type": "gather", "prompt": "Press 1 to confirm your appointment.", "num_digits": 1},
    {"type": "say", "text": "Thank you. Goodbye."},
    {"type": "hangup"},
]
TIMEOUT_SECONDS = 90.0


def current_status(producer: Producer, request_id: str) -> str | None:
    """The recorded status of a request, or None while nothing is recorded yet."""
    try:
        record = producer.status(request_id)
    except DeliveryNotFoundError:
        return None
    return str(record.current.get("status")) if record.current else None


def wait_final(producer: Producer, request_id: str, finals: set[str]) -> str | None:
    """Poll until the delivery is in one of `finals` and its history holds that report (the
    state row changes before the history row is written), or the time runs out."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    status = None
    while time.monotonic() < deadline:
        status = current_status(producer, request_id)
        if status in finals:
            history = producer.status(request_id).history
            if any(row.get("status") == status for row in history):
                return status
        time.sleep(0.25)
    return status


def print_history(producer: Producer, request_id: str) -> None:
    """The delivery's history rows, one line each."""
    try:
        record = producer.status(request_id)
    except DeliveryNotFoundError:
        print(f"  (nothing recorded for {request_id})")
        return
    for row in record.history:
        extra = {k: v for k, v in row.items() if k in ("error_code", "detail") and v}
        print(f"  {row.get('at', '')}  {row.get('status', '')}  {json.dumps(extra, default=str)}")


async def emulator(base_url: str, method: str, path: str, body: object = None) -> Any:
    """Call the Twilio emulator's inspection API."""
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.request(method, f"{base_url}/_emulator/{path}", json=body) as response,
    ):
        response.raise_for_status()
        return await response.json()


def demo(app_dir: Path, speed: float) -> int:
    """Run the demo; 0 when both deliveries reached their final status."""
    run_id = uuid.uuid4().hex[:8]
    sms_id, call_id = f"demo-sms-{run_id}", f"demo-call-{run_id}"
    with running_stack(app_dir, speed, echo=False) as stack:
        twilio = stack.twilio_url
        if twilio is None:
            print(
                "make demo needs the Twilio emulator: point TWILIO_API_BASE_URL in "
                "local.settings.json at http://127.0.0.1:8701",
                file=sys.stderr,
            )
            return 2
        print(f"stack up: Twilio emulator {twilio}, functions host {stack.host_url}")
        asyncio.run(emulator(twilio, "POST", "callees", {"number": CALL_TO, "digits": [DIGITS]}))
        producer = Producer(load_settings(directory=app_dir))
        producer.send_sms({"id": sms_id, "to": SMS_TO, "body": "Hello from Azure Functions"})
        print(f"enqueued SMS {sms_id} to {SMS_TO}")
        producer.place_call({"id": call_id, "to": CALL_TO, "script": CALL_SCRIPT})
        print(f"enqueued call {call_id} to {CALL_TO} (the callee will press {DIGITS})")
        sms_status = wait_final(producer, sms_id, {"delivered", "undelivered", "failed"})
        call_status = wait_final(producer, call_id, {"completed", "busy", "no-answer", "failed"})
        print(f"\nSMS {sms_id}: {sms_status}")
        print_history(producer, sms_id)
        print(f"\ncall {call_id}: {call_status}")
        print_history(producer, call_id)
        calls = asyncio.run(emulator(twilio, "GET", f"calls?to={CALL_TO.replace('+', '%2B')}"))
        transcript = calls["calls"][-1]["transcript"] if calls["calls"] else []
        digits = calls["calls"][-1]["digits"] if calls["calls"] else []
        print("\ncall transcript (from the Twilio emulator):")
        for entry in transcript:
            print(f"  {json.dumps(entry)}")
        print(f"  digits entered: {digits}")
    ok = sms_status == "delivered" and call_status == "completed" and DIGITS in "".join(digits)
    print("\ndemo " + ("succeeded" if ok else "FAILED"))
    return 0 if ok else 1
