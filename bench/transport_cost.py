"""CPU per storage request: the app's `StorageTransport` against azure-core's `RequestsTransport`,
side by side in one run on one Azurite.

Both transports carry the same SDK clients (azure-data-tables, azure-storage-queue, sync) with the
same timeouts; the `requests` session is set up as the app's was before (`trust_env` off,
`CheckedOnceAdapter`, no retries of its own). Rounds alternate between the two, each round
doing what one SMS costs the app in requests of each kind: inserts, a merge, a query, a batch
(state + history row), a message put, receive and delete. Process CPU time per request is the
figure; the ratio is StorageTransport / RequestsTransport.

    python -m bench.transport_cost [--rounds 300] [--out bench/results]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
from azure.core import MatchConditions
from azure.core.pipeline.transport import HttpTransport, RequestsTransport
from azure.data.tables import TableClient, TableServiceClient, UpdateMode
from azure.storage.queue import QueueClient
from urllib3.util.retry import Retry

from bench.app_host import REPO_ROOT
from emulators.azurite import start_azurite
from shared.http_adapter import CheckedOnceAdapter
from shared.storage_transport import StoragePools, StorageTransport

RESULTS_JSON = "transport_cost.json"
CONNECTION_TIMEOUT, READ_TIMEOUT = 5, 20
# Storage requests one round makes (what one SMS's send and callbacks cost, by kind).
REQUESTS_PER_ROUND = 9


def requests_transport() -> RequestsTransport:
    """azure-core's transport on a session set up as the app's storage session was."""
    session = requests.Session()
    session.trust_env = False
    adapter = CheckedOnceAdapter(max_retries=Retry(total=False, redirect=False))
    for prefix in ("http://", "https://"):
        session.mount(prefix, adapter)
    return RequestsTransport(
        session=session,
        session_owner=False,
        connection_timeout=CONNECTION_TIMEOUT,
        read_timeout=READ_TIMEOUT,
    )


class Clients:
    """A table and a queue client on one transport."""

    def __init__(self, connection: str, name: str, transport: HttpTransport[Any, Any]) -> None:
        service = TableServiceClient.from_connection_string(connection, transport=transport)
        self.table: TableClient = service.create_table(name)
        self.queue = QueueClient.from_connection_string(connection, name, transport=transport)
        self.queue.create_queue()

    def round(self, key: str) -> None:
        """One round: `REQUESTS_PER_ROUND` requests, as one SMS's life makes them."""
        table, queue = self.table, self.queue
        table.create_entity({"PartitionKey": f"o-{key}", "RowKey": key})  # index row
        claim = table.create_entity({"PartitionKey": key, "RowKey": "~state", "status": "new"})
        table.create_entity({"PartitionKey": f"s-{key}", "RowKey": key})  # SID index
        table.submit_transaction(
            [
                (
                    "update",
                    {"PartitionKey": key, "RowKey": "~state", "status": "sent"},
                    {
                        "mode": UpdateMode.MERGE,
                        "etag": claim["etag"],
                        "match_condition": MatchConditions.IfNotModified,
                    },
                ),
                ("create", {"PartitionKey": key, "RowKey": "h-1", "status": "sent"}),
            ]
        )
        queue.send_message(f"event {key}")
        rows = list(
            table.query_entities(
                "PartitionKey eq @pk and ( RowKey eq @state or RowKey eq @row )",
                parameters={"pk": key, "state": "~state", "row": "h-2"},
            )
        )
        table.update_entity(
            {"PartitionKey": key, "RowKey": "~state", "status": "delivered"},
            mode=UpdateMode.MERGE,
            etag=rows[0].metadata["etag"],
            match_condition=MatchConditions.IfNotModified,
        )
        (message,) = queue.receive_messages(max_messages=1)
        queue.delete_message(message)


def cpu_ms_per_request(work: Callable[[str], None], keys: list[str]) -> float:
    """Process CPU milliseconds per request over `work(key)` for every key."""
    start = time.process_time()
    for key in keys:
        work(key)
    return (time.process_time() - start) * 1000 / (len(keys) * REQUESTS_PER_ROUND)


def run(rounds: int, blocks: int = 10) -> dict[str, Any]:
    """`rounds` rounds per transport, in `blocks` alternating blocks, on one in-memory Azurite."""
    azurite = start_azurite()
    try:
        connection = azurite.connection_string
        clients = {
            "requests": Clients(connection, "viarequests", requests_transport()),
            "storage_transport": Clients(
                connection,
                "viaurllib3",
                StorageTransport(
                    connection_timeout=CONNECTION_TIMEOUT,
                    read_timeout=READ_TIMEOUT,
                    pools=StoragePools(),
                ),
            ),
        }
        for name, pair in clients.items():  # warm up: connections, first-use imports
            cpu_ms_per_request(pair.round, [f"warm-{name}-{i}" for i in range(5)])
        per_block = max(1, rounds // blocks)
        samples: dict[str, list[float]] = {name: [] for name in clients}
        for block in range(blocks):
            order = list(clients) if block % 2 == 0 else list(reversed(clients))
            for name in order:
                keys = [uuid.uuid4().hex for _ in range(per_block)]
                samples[name].append(cpu_ms_per_request(clients[name].round, keys))
    finally:
        azurite.stop()
    mean = {name: sum(values) / len(values) for name, values in samples.items()}
    return {
        "benchmark": "CPU per storage request: StorageTransport vs RequestsTransport",
        "rounds_per_transport": per_block * blocks,
        "requests_per_round": REQUESTS_PER_ROUND,
        "cpu_ms_per_request": {name: round(value, 3) for name, value in mean.items()},
        "cpu_ms_per_request_by_block": {
            name: [round(value, 3) for value in values] for name, values in samples.items()
        },
        "ratio_storage_transport_to_requests": round(
            mean["storage_transport"] / mean["requests"], 3
        ),
    }


def main(argv: list[str] | None = None) -> int:
    """Entry point: run, print, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=300, help="rounds per transport")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    results = run(args.rounds)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / RESULTS_JSON).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    cpu = results["cpu_ms_per_request"]
    print(
        f"CPU per storage request: requests {cpu['requests']} ms, StorageTransport "
        f"{cpu['storage_transport']} ms: {results['ratio_storage_transport_to_requests']}× "
        f"({results['rounds_per_transport']} rounds of {REQUESTS_PER_ROUND} requests each)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
