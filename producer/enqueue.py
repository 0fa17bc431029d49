"""Build, validate and enqueue SMS and call requests with the app's own contracts."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from producer.errors import InvalidInputError, storage_errors
from producer.queues import StorageQueues
from shared.contracts import CallRequest, SmsRequest


@dataclass(frozen=True)
class EnqueuedRequest:
    """A request that is now on its queue."""

    id: str
    queue: str
    message_id: str


def new_request_id() -> str:
    """A fresh idempotency key (uuid4) for a request that was given none."""
    return str(uuid.uuid4())


def describe_validation_error(error: ValidationError) -> str:
    """One line per problem, each naming the field (`script.0.say.text`) and what is wrong."""
    problems = []
    for detail in error.errors(include_url=False):
        field = ".".join(str(part) for part in detail["loc"]) or "request"
        problems.append(f"{field}: {detail['msg'].removeprefix('Value error, ')}")
    return "invalid request:\n  " + "\n  ".join(problems)


def _validated[M: BaseModel](model: type[M], fields: Mapping[str, object]) -> M:
    payload = {name: value for name, value in fields.items() if value is not None}
    payload.setdefault("id", new_request_id())
    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise InvalidInputError(describe_validation_error(error)) from error


def build_sms_request(fields: Mapping[str, object]) -> SmsRequest:
    """Validate SMS request fields (contract names: `to`, `body`, `from`, `media_urls` …);
    None values are left out and a missing `id` becomes a new uuid4."""
    return _validated(SmsRequest, fields)


def build_call_request(fields: Mapping[str, object]) -> CallRequest:
    """Validate call request fields (`to`, `from`, one of `script`/`twiml`/`url` …);
    None values are left out and a missing `id` becomes a new uuid4."""
    return _validated(CallRequest, fields)


def load_script(path: Path) -> object:
    """The JSON step list in file `path` (validated later, with the rest of the request)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InvalidInputError(f"script: cannot read {path}: {error.strerror}") from error
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidInputError(f"script: {path} is not JSON: {error}") from error


def request_json(request: SmsRequest | CallRequest) -> str:
    """The message text for a request: contract field names (`from`, not `from_`), no nulls."""
    return request.model_dump_json(by_alias=True, exclude_none=True)


def enqueue_request(
    queues: StorageQueues, queue_name: str, request: SmsRequest | CallRequest
) -> EnqueuedRequest:
    """Put a validated request on `queue_name`, base64-encoded as the host expects."""
    queue = queues.text_queue(queue_name)
    with storage_errors(f"send request {request.id} to queue {queue_name!r}"):
        sent = queue.send_message(request_json(request))
    return EnqueuedRequest(id=request.id, queue=queue_name, message_id=sent.id)
