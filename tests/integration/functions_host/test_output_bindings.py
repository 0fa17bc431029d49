"""Queue and table output bindings are written by the host after a successful invocation."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from azure.data.tables import TableClient

from emulators.azurite import Azurite

OUTPUT_SOURCE = """
import json
import azure.functions as func


def main(msg: func.QueueMessage, outbox: func.Out[str], row: func.Out[str]) -> None:
    request = json.loads(msg.get_body())
    outbox.set(json.dumps({"done": request["id"]}))
    row.set(json.dumps({"RowKey": request["id"], "status": "sent"}))
"""


def test_queue_and_table_outputs(tmp_path: Path, host_tools: Any, azurite: Azurite) -> None:
    in_queue, out_queue = host_tools.unique_queue("in"), host_tools.unique_queue("out")
    table_name = "outputs" + host_tools.unique_queue("t").replace("-", "")
    app = host_tools.write_app(
        tmp_path / "app",
        values={"IN_QUEUE": in_queue, "OUT_QUEUE": out_queue, "OUT_TABLE": table_name},
    )
    function_json = host_tools.queue_trigger_json("%IN_QUEUE%")
    function_json["bindings"] += [
        {"name": "outbox", "type": "queue", "direction": "out", "queueName": "%OUT_QUEUE%"},
        {
            "name": "row",
            "type": "table",
            "direction": "out",
            "tableName": "%OUT_TABLE%",
            "partitionKey": "requests",
        },
    ]
    app.add_function("forward", function_json, OUTPUT_SOURCE)
    host = host_tools.start_host(app, azurite)
    try:
        host_tools.base64_queue(azurite, in_queue).send_message('{"id": "r-1"}')
        outbox = host_tools.raw_queue(azurite, out_queue)

        def forwarded() -> list[Any] | None:
            try:
                return list(outbox.peek_messages(max_messages=5)) or None
            except Exception:  # created by the host on the first output
                return None

        messages = host_tools.wait_until(forwarded, "the queue output message")
    finally:
        host.service.stop()
    assert len(messages) == 1
    # host.json messageEncoding base64 applies to outputs too.
    assert json.loads(base64.b64decode(messages[0].content)) == {"done": "r-1"}
    with TableClient.from_connection_string(azurite.connection_string, table_name) as table:
        entity = table.get_entity("requests", "r-1")
    assert entity["status"] == "sent"
