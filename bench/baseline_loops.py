"""The two loops the app is compared with; both send SMS from a queue and record nothing.

- `tutorial_loop`: the pattern of Twilio's quickstart run as a queue consumer: receive, build a
  new `twilio.rest.Client` for each message, `messages.create`, delete; one message at a time.
- `bare_loop`: the least a consumer can do at the functions host's concurrency: receive batches
  of `batchSize`, fetch again once in-flight work is down to `newBatchThreshold` (as the host's
  queue listener does), POST Messages.json with aiohttp, delete.

Both read the same base64 JSON requests the producer enqueues (`enqueue_sms`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp
from azure.core.exceptions import ResourceExistsError
from azure.storage.queue import QueueClient, QueueMessage, TextBase64DecodePolicy
from azure.storage.queue.aio import QueueClient as AsyncQueueClient
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from producer.enqueue import build_sms_request, request_json
from producer.queues import encode_message_text

# Long enough that a message is never handed out twice during a run.
LEASE_SECONDS = 600
ENQUEUE_CONCURRENCY = 32


@dataclass(frozen=True)
class TwilioTarget:
    """Where and as whom the loops send."""

    base_url: str
    account_sid: str
    auth_token: str
    from_number: str


def sms_requests(prefix: str, count: int) -> list[str]:
    """`count` SMS requests as the producer writes them (validated contract JSON), with ids
    `<prefix>00000`, `<prefix>00001`, …; numbers +1777… are plain delivered numbers for the
    emulator (its behaviour numbers are +1555…/+1500…)."""
    return [
        request_json(
            build_sms_request(
                {"id": f"{prefix}{index:05d}", "to": f"+1777{index:07d}", "body": f"bench {index}"}
            )
        )
        for index in range(count)
    ]


async def enqueue_sms(connection_string: str, queue_name: str, texts: Sequence[str]) -> None:
    """Create `queue_name` if needed and put each text on it base64-encoded, as the producer
    does (`TextBase64EncodePolicy`), a few dozen at a time."""
    async with AsyncQueueClient.from_connection_string(connection_string, queue_name) as queue:
        with contextlib.suppress(ResourceExistsError):
            await queue.create_queue()
        pending = iter(texts)

        async def put_all() -> None:
            for text in pending:
                await queue.send_message(encode_message_text(text))

        await asyncio.gather(*(put_all() for _ in range(ENQUEUE_CONCURRENCY)))


def tutorial_loop(
    connection_string: str, queue_name: str, count: int, twilio: TwilioTarget
) -> float:
    """Drain `count` requests the tutorial's way; return the seconds it took."""
    queue = QueueClient.from_connection_string(
        connection_string,
        queue_name,
        message_decode_policy=TextBase64DecodePolicy(),
        connection_timeout=5,
        read_timeout=30,
    )
    sent = 0
    started = time.perf_counter()
    while sent < count:
        batch = list(
            queue.receive_messages(
                messages_per_page=32, max_messages=32, visibility_timeout=LEASE_SECONDS
            )
        )
        if not batch:
            raise RuntimeError(f"tutorial loop: queue {queue_name} empty after {sent} of {count}")
        for message in batch:
            request = json.loads(message.content)
            # What the quickstart does in every invocation: a new client (and HTTP session).
            # The timeout is the benchmark's safety net; the client is built the same way.
            client = Client(
                twilio.account_sid, twilio.auth_token, http_client=TwilioHttpClient(timeout=30)
            )
            client.api.base_url = twilio.base_url
            client.messages.create(to=request["to"], from_=twilio.from_number, body=request["body"])
            queue.delete_message(message)
            sent += 1
    elapsed = time.perf_counter() - started
    queue.close()
    return elapsed


async def bare_loop(
    connection_string: str,
    queue_name: str,
    count: int,
    twilio: TwilioTarget,
    batch_size: int,
    new_batch_threshold: int,
) -> float:
    """Drain `count` requests with the host's fetch policy and nothing else; return seconds."""
    url = f"{twilio.base_url}/2010-04-01/Accounts/{twilio.account_sid}/Messages.json"
    sent = 0

    async with (
        AsyncQueueClient.from_connection_string(
            connection_string, queue_name, message_decode_policy=TextBase64DecodePolicy()
        ) as queue,
        aiohttp.ClientSession(
            headers={
                "Authorization": aiohttp.encode_basic_auth(twilio.account_sid, twilio.auth_token)
            },
            timeout=aiohttp.ClientTimeout(total=30),
        ) as http,
    ):

        async def send(message: QueueMessage) -> None:
            nonlocal sent
            request = json.loads(message.content)
            form = {"To": request["to"], "From": twilio.from_number, "Body": request["body"]}
            async with http.post(url, data=form) as answer:
                await answer.read()
                if answer.status != 201:
                    raise RuntimeError(f"bare loop: Messages.json answered {answer.status}")
            await queue.delete_message(message)
            sent += 1

        in_flight: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        received = 0
        while received < count:
            while len(in_flight) > new_batch_threshold:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            pages = queue.receive_messages(
                messages_per_page=batch_size,
                max_messages=batch_size,
                visibility_timeout=LEASE_SECONDS,
            )
            batch = [message async for message in pages]
            if not batch:
                raise RuntimeError(f"bare loop: queue {queue_name} empty after {received}")
            received += len(batch)
            for message in batch:
                task = asyncio.create_task(send(message))
                in_flight.add(task)
                task.add_done_callback(in_flight.discard)
        await asyncio.gather(*in_flight)
        elapsed = time.perf_counter() - started
    if sent != count:
        raise RuntimeError(f"bare loop: sent {sent} of {count}")
    return elapsed
