"""Write the JSON Schemas of the queue contracts to `schemas/`: `python -m shared.schema_export`.

`tests/unit/shared/test_schema_export.py` fails when the committed files drift from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from shared.contracts import CallRequest, DeliveryEvent, SmsRequest

SCHEMA_FILES: dict[str, type[BaseModel]] = {
    "sms-request.schema.json": SmsRequest,
    "call-request.schema.json": CallRequest,
    "delivery-event.schema.json": DeliveryEvent,
}
DEFAULT_DIR = Path(__file__).resolve().parent.parent / "schemas"


def render_schema(file_name: str) -> str:
    """The text of one schema file, exactly as committed (by-alias field names, draft 2020-12)."""
    model = SCHEMA_FILES[file_name]
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": file_name,
        **model.model_json_schema(by_alias=True, mode="validation"),
    }
    return json.dumps(schema, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def export(directory: Path = DEFAULT_DIR) -> list[Path]:
    """Write every schema file into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name in SCHEMA_FILES:
        path = directory / file_name
        path.write_text(render_schema(file_name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for written_path in export(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DIR):
        print(written_path)
