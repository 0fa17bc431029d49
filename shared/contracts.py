"""Queue contracts: the SMS request, the call request (with its script) and the delivery event.

`schemas/*.schema.json` are generated from these models (`python -m shared.schema_export`).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Literal, Self
from xml.etree import ElementTree

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StringConstraints,
    model_validator,
)

E164_PATTERN = r"^\+[1-9][0-9]{1,14}$"
E164 = Annotated[str, StringConstraints(pattern=E164_PATTERN), Field(examples=["+15005550006"])]
MESSAGING_SERVICE_SID_PATTERN = r"^MG[0-9a-fA-F]{32}$"
# Table keys may not hold / \ # ? or control characters; the id becomes the PartitionKey.
REQUEST_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
RequestId = Annotated[
    str,
    StringConstraints(pattern=REQUEST_ID_PATTERN),
    Field(description="Idempotency key chosen by the producer; same id twice = one SMS or call."),
]
WebUrl = Annotated[str, StringConstraints(pattern=r"^https?://[^\s]+$", max_length=2048)]
SMS_BODY_MAX_CHARS = 1600
# Compact JSON (no spaces, characters unescaped). Metadata rides in every event (a queue message
# holds 64 KiB); the script is served as TwiML, which Twilio takes up to 64 KB of.
METADATA_MAX_JSON_CHARS = 8000
SCRIPT_MAX_JSON_CHARS = 30000
# Objects and arrays nested in a request, the request itself included. Deeper JSON would
# exhaust recursion in the parser, the validator or the JSON writers; no contract needs it.
REQUEST_MAX_NESTING = 32
Metadata = Annotated[
    dict[str, JsonValue],
    Field(
        description="Opaque producer data, copied into every delivery event; at most "
        f"{METADATA_MAX_JSON_CHARS} characters as compact JSON, and nested at most "
        f"{REQUEST_MAX_NESTING} levels deep counting the request object."
    ),
]


def is_request_id(text: str) -> bool:
    """Whether `text` is a valid request id as a whole (Python's `$` would also accept a
    trailing newline, so never `re.match` with it)."""
    return _REQUEST_ID.fullmatch(text) is not None


def _well_formed_twiml(text: str) -> str:
    """`text` if it is well-formed XML with a `<Response>` root; Twilio fails any other
    document only when the call connects (error 12100)."""
    # ElementTree is not hardened against entity expansion; entities need a DOCTYPE.
    if "<!DOCTYPE" in text:
        raise ValueError("twiml must not contain a DOCTYPE")
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"twiml is not well-formed XML: {error}") from None
    if root.tag != "Response":
        raise ValueError(f"twiml root element must be <Response>, not <{root.tag}>")
    return text


Twiml = Annotated[
    str,
    StringConstraints(min_length=1, max_length=4000),
    AfterValidator(_well_formed_twiml),
    Field(description="Inline TwiML: well-formed XML with a <Response> root, no DOCTYPE."),
]


def _json_chars(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str))


class _Contract(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


def check_nesting(value: object) -> None:
    """Refuse JSON (objects and arrays) nested deeper than `REQUEST_MAX_NESTING` levels, with
    the path to the first place that is too deep. Iterative: deep input cannot exhaust the
    stack here."""
    pending: list[tuple[object, int, str]] = [(value, 1, "request")]
    while pending:
        item, depth, path = pending.pop()
        if not isinstance(item, dict | list):
            continue
        if depth > REQUEST_MAX_NESTING:
            shown = path if len(path) <= 200 else path[:200] + "…"
            raise ValueError(
                f"the request nests objects/arrays deeper than {REQUEST_MAX_NESTING} levels "
                f"(at {_printable(shown)})"
            )
        children = item.items() if isinstance(item, dict) else enumerate(item)
        pending.extend((child, depth + 1, f"{path}.{key}") for key, child in children)


class SmsRequest(_Contract):
    """A request on the SMS queue: one SMS/MMS to one recipient."""

    id: RequestId
    to: E164
    body: Annotated[str, StringConstraints(min_length=1, max_length=SMS_BODY_MAX_CHARS)] | None = (
        None
    )
    media_urls: Annotated[list[WebUrl], Field(min_length=1, max_length=10)] | None = None
    from_: E164 | None = Field(default=None, alias="from")
    messaging_service_sid: (
        Annotated[str, StringConstraints(pattern=MESSAGING_SERVICE_SID_PATTERN)] | None
    ) = None
    send_at: datetime | None = Field(
        default=None, description="Schedule (needs a Messaging Service); timezone-aware."
    )
    validity_period: Annotated[int, Field(ge=1, le=36000)] | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: object) -> object:
        check_nesting(data)
        return data

    @model_validator(mode="after")
    def _one_content_one_sender(self) -> Self:
        _check_encodable(self)
        _check_metadata_size(self.metadata)
        if self.body is None and self.media_urls is None:
            raise ValueError("one of body or media_urls is required")
        if self.from_ is not None and self.messaging_service_sid is not None:
            raise ValueError("give from or messaging_service_sid, not both")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("send_at must carry a timezone")
        return self


def _unencodable_at(value: object, path: str) -> str | None:
    """The path of the first text in `value` (keys included) that is not valid Unicode (a lone
    surrogate, possible in JSON as `\\udfff`): it cannot be encoded as UTF-8 or UTF-16."""
    texts: list[tuple[str, object]] = []
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
    elif isinstance(value, dict):
        named = [(f"{path}.{_printable(str(key))}", key, item) for key, item in value.items()]
        texts = [(where, key) for where, key, _ in named] + [(w, item) for w, _, item in named]
    elif isinstance(value, list):
        texts = [(f"{path}.{index}", item) for index, item in enumerate(value)]
    for where, item in texts:
        found = _unencodable_at(item, where)
        if found is not None:
            return found
    return None


def _printable(text: str) -> str:
    """`text` with lone surrogates written as `\\udfff` (so an error message can be stored)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _check_encodable(request: BaseModel) -> None:
    """Refuse text that cannot be stored or sent (a lone surrogate)."""
    found = _unencodable_at(request.model_dump(mode="python", by_alias=True), "request")
    if found is not None:
        raise ValueError(f"{found} is not valid Unicode text (a lone surrogate such as \\udfff)")


def _check_metadata_size(metadata: dict[str, JsonValue]) -> None:
    if _json_chars(metadata) > METADATA_MAX_JSON_CHARS:
        raise ValueError(f"metadata is longer than {METADATA_MAX_JSON_CHARS} characters as JSON")


class SayStep(_Contract):
    """Speak text (`<Say>`)."""

    type: Literal["say"]
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]
    voice: str | None = None
    language: str | None = None
    loop: Annotated[int, Field(ge=0, le=100)] | None = None


class PlayStep(_Contract):
    """Play an audio file (`<Play>`)."""

    type: Literal["play"]
    url: WebUrl
    loop: Annotated[int, Field(ge=0, le=100)] | None = None


class PauseStep(_Contract):
    """Wait in silence (`<Pause>`)."""

    type: Literal["pause"]
    length: Annotated[int, Field(ge=1, le=600)]


class GatherStep(_Contract):
    """Collect digits (`<Gather>`); the answer is recorded and the script goes on."""

    type: Literal["gather"]
    prompt: Annotated[str, StringConstraints(min_length=1, max_length=4000)] | None = None
    num_digits: Annotated[int, Field(ge=1, le=64)] | None = None
    timeout: Annotated[int, Field(ge=1, le=600)] | None = None
    finish_on_key: Annotated[str, StringConstraints(pattern=r"^[0-9#*]?$")] | None = None


class DialStep(_Contract):
    """Connect the callee to another number (`<Dial>`)."""

    type: Literal["dial"]
    number: E164


class RecordStep(_Contract):
    """Record the callee (`<Record>`)."""

    type: Literal["record"]
    max_length: Annotated[int, Field(ge=1, le=14400)] | None = None
    play_beep: bool | None = None


class RedirectStep(_Contract):
    """Continue with TwiML from another URL (`<Redirect>`)."""

    type: Literal["redirect"]
    url: WebUrl


class HangupStep(_Contract):
    """End the call (`<Hangup>`)."""

    type: Literal["hangup"]


class RejectStep(_Contract):
    """Reject the call (`<Reject>`)."""

    type: Literal["reject"]
    reason: Literal["rejected", "busy"] | None = None


ScriptStep = Annotated[
    SayStep
    | PlayStep
    | PauseStep
    | GatherStep
    | DialStep
    | RecordStep
    | RedirectStep
    | HangupStep
    | RejectStep,
    Field(discriminator="type"),
]


class CallRequest(_Contract):
    """A request on the call queue: one call, driven by a script, inline TwiML or a TwiML URL."""

    id: RequestId
    to: E164
    from_: E164 | None = Field(default=None, alias="from")
    script: (
        Annotated[
            list[ScriptStep],
            Field(
                min_length=1,
                max_length=100,
                description="Steps of the call; at most "
                f"{SCRIPT_MAX_JSON_CHARS} characters as compact JSON.",
            ),
        ]
        | None
    ) = None
    twiml: Twiml | None = None
    url: WebUrl | None = None
    voice: str | None = Field(default=None, description="Default voice of the script's say steps.")
    language: str | None = Field(
        default=None, description="Default language of the script's say steps."
    )
    timeout: Annotated[int, Field(ge=1, le=600)] | None = Field(
        default=None, description="Seconds to let the phone ring."
    )
    machine_detection: Literal["Enable", "DetectMessageEnd"] | None = None
    record: bool | None = None
    metadata: Metadata = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _not_too_deep(cls, data: object) -> object:
        check_nesting(data)
        return data

    @model_validator(mode="after")
    def _exactly_one_program(self) -> Self:
        _check_encodable(self)
        _check_metadata_size(self.metadata)
        given = [name for name in ("script", "twiml", "url") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"exactly one of script, twiml or url is required (got {given})")
        script = [step.model_dump(exclude_none=True) for step in self.script or []]
        if _json_chars(script) > SCRIPT_MAX_JSON_CHARS:
            raise ValueError(f"script is longer than {SCRIPT_MAX_JSON_CHARS} characters as JSON")
        return self


class DeliveryEvent(_Contract):
    """What happened to a request: published on the events queue for every change of its status,
    every Gather answer or apology, and every refused copy of its id (`detail.conflict`)."""

    id: RequestId
    channel: Literal["sms", "call"]
    status: str = Field(
        description="Twilio status (queued, sent, delivered, ringing, completed …) or a local one "
        "(rejected, failed)."
    )
    twilio_sid: str | None
    error_code: int | None = None
    error_message: str | None = None
    at: datetime
    sequence: Annotated[int, Field(ge=1)] = Field(
        description="Position of this event among the request's events (1, 2, …)."
    )
    metadata: Metadata = Field(default_factory=dict)
    detail: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="Extra facts: reason, digits, duration, answered_by, raw payload, conflict, "
        "source (`poll`: read from Twilio by the status sweeper), final_status_unknown (true: no "
        "final status within the sweeper's age limit) …",
    )
