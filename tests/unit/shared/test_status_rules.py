"""Status rules: forward-only, out-of-order and repeated reports, local states."""

from __future__ import annotations

import itertools

import pytest

from shared.status_rules import Channel, Source, is_known, should_apply

SMS_LIFECYCLE = ["queued", "sending", "sent", "delivered", "read"]
CALL_LIFECYCLE = ["queued", "initiated", "ringing", "in-progress", "completed"]


def _apply_all(
    channel: Channel, reports: list[tuple[str, int | None]], start: str | None = None
) -> str | None:
    """Fold reports into a current status the way the delivery store does."""
    current, current_seq = start, None
    for status, seq in reports:
        if should_apply(channel, current, current_seq, status, seq):
            current, current_seq = status, seq
    return current


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "queued", True),
        (None, "delivered", True),
        ("queued", "sending", True),
        # a Messaging Service message leaves accepted/scheduled for queued
        ("accepted", "queued", True),
        ("scheduled", "queued", True),
        ("queued", "accepted", False),
        ("queued", "scheduled", False),
        ("accepted", "scheduled", False),
        ("scheduled", "accepted", False),
        ("scheduled", "sent", True),
        ("sending", "sent", True),
        ("sent", "sending", False),
        ("sent", "queued", False),
        ("sent", "delivered", True),
        ("sent", "undelivered", True),
        ("sent", "failed", True),
        ("delivered", "sent", False),
        ("delivered", "read", True),
        ("read", "delivered", False),
        # a failure wins over a success of equal rank, never the reverse
        ("delivered", "undelivered", True),
        ("delivered", "failed", True),
        ("undelivered", "delivered", False),
        ("failed", "delivered", False),
        ("failed", "sent", False),
        ("failed", "undelivered", False),
        ("undelivered", "failed", False),
        # read outranks the final tier
        ("undelivered", "read", True),
        # canceled is terminal
        ("scheduled", "canceled", True),
        ("accepted", "canceled", True),
        ("canceled", "queued", False),
        ("canceled", "delivered", False),
        ("canceled", "read", False),
        ("canceled", "failed", False),
        ("delivered", "canceled", False),
        # duplicates change nothing
        ("queued", "queued", False),
        ("delivered", "delivered", False),
        ("failed", "failed", False),
        # unknown statuses never apply
        ("sent", "delivery_unknown", False),
        ("sent", "partially_delivered", False),
        ("sent", "receiving", False),
        (None, "bogus", False),
        # a current status the rules cannot rank is replaced by a known report
        ("bogus", "queued", True),
    ],
)
def test_sms_twilio_transitions(current: str | None, new: str, expected: bool) -> None:
    assert should_apply("sms", current, None, new, None) is expected


@pytest.mark.parametrize(
    ("current", "new", "expected"),
    [
        (None, "initiated", True),
        ("queued", "initiated", True),
        ("initiated", "ringing", True),
        ("ringing", "in-progress", True),
        ("in-progress", "completed", True),
        ("ringing", "busy", True),
        ("ringing", "no-answer", True),
        ("queued", "failed", True),
        ("ringing", "canceled", True),
        ("completed", "in-progress", False),
        ("completed", "ringing", False),
        ("in-progress", "ringing", False),
        ("ringing", "initiated", False),
        ("busy", "completed", False),
        ("completed", "completed", False),
        ("ringing", "sent", False),
        ("ringing", "answered", False),
    ],
)
def test_call_transitions_without_sequence(current: str | None, new: str, expected: bool) -> None:
    assert should_apply("call", current, None, new, None) is expected


@pytest.mark.parametrize(
    ("current", "current_seq", "new", "new_seq", "expected"),
    [
        ("initiated", 0, "ringing", 1, True),
        ("ringing", 1, "initiated", 0, False),
        ("completed", 3, "in-progress", 2, False),
        ("completed", 3, "ringing", 1, False),
        # same report twice
        ("ringing", 1, "ringing", 1, False),
        ("completed", 3, "completed", 3, False),
        # the same status again with a later number changes nothing
        ("ringing", 1, "ringing", 2, False),
        # numbers disagreeing with ranks: ranks win, a final status is never lost
        ("in-progress", 5, "completed", 2, True),
        ("completed", 2, "in-progress", 5, False),
        # equal rank (final tier): the later-fired report wins
        ("completed", 3, "busy", 4, True),
        ("busy", 4, "completed", 3, False),
        ("completed", 3, "no-answer", 3, False),
        ("completed", None, "busy", 4, False),
        ("completed", 3, "busy", None, False),
        # canceled is terminal even against a later number
        ("canceled", 2, "completed", 3, False),
        # a report with a number replaces one without (create response) by rank
        ("queued", None, "initiated", 0, True),
    ],
)
def test_call_transitions_with_sequence(
    current: str, current_seq: int | None, new: str, new_seq: int | None, expected: bool
) -> None:
    assert should_apply("call", current, current_seq, new, new_seq) is expected


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(SMS_LIFECYCLE)))))
def test_sms_every_arrival_order_ends_at_the_highest_status(order: tuple[int, ...]) -> None:
    reports: list[tuple[str, int | None]] = [(SMS_LIFECYCLE[i], None) for i in order]
    assert _apply_all("sms", reports + reports) == "read"


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(CALL_LIFECYCLE)))))
def test_call_every_arrival_order_ends_completed(order: tuple[int, ...]) -> None:
    reports: list[tuple[str, int | None]] = [(CALL_LIFECYCLE[i], i) for i in order]
    assert _apply_all("call", reports + list(reversed(reports))) == "completed"


@pytest.mark.parametrize(
    "order", list(itertools.permutations(["queued", "sent", "delivered", "undelivered"]))
)
def test_sms_conflicting_outcomes_resolve_to_the_failure_in_any_order(
    order: tuple[str, ...],
) -> None:
    assert _apply_all("sms", [(s, None) for s in order]) == "undelivered"


@pytest.mark.parametrize(
    ("current", "current_source", "new", "new_source", "expected"),
    [
        (None, "local", "rejected", "local", True),
        # a second claim loses: duplicates of a request are no-ops
        ("sending", "local", "sending", "local", False),
        ("sending", "local", "failed", "local", True),
        ("sending", "local", "rejected", "local", True),
        # rejected is terminal, for local and Twilio reports alike
        ("rejected", "local", "sending", "local", False),
        ("rejected", "local", "failed", "local", False),
        ("rejected", "local", "queued", "twilio", False),
        ("rejected", "local", "delivered", "twilio", False),
        # Twilio's first answers replace the claim, including the low-ranked initial statuses
        ("sending", "local", "queued", "twilio", True),
        ("sending", "local", "scheduled", "twilio", True),
        ("sending", "local", "accepted", "twilio", True),
        ("sending", "local", "sending", "twilio", True),
        ("sending", "local", "failed", "twilio", True),
        # a Twilio 'sending' is not a claim: the initial statuses do not replace it
        ("sending", "twilio", "queued", "twilio", False),
        ("sending", "twilio", "sent", "twilio", True),
        # given up locally: any genuine Twilio report corrects it, a new claim may restart
        ("failed", "local", "delivered", "twilio", True),
        ("failed", "local", "sent", "twilio", True),
        ("failed", "local", "queued", "twilio", True),
        ("failed", "local", "failed", "twilio", True),
        ("failed", "local", "sending", "local", True),
        ("failed", "local", "failed", "local", False),
        ("failed", "local", "rejected", "local", False),
        # Twilio's failure is final: no claim or local state replaces it
        ("failed", "twilio", "sending", "local", False),
        ("failed", "twilio", "sent", "twilio", False),
        # local states never replace what Twilio reported
        ("queued", "twilio", "sending", "local", False),
        ("sent", "twilio", "failed", "local", False),
        ("queued", "twilio", "rejected", "local", False),
        # 'rejected' is local whatever source the caller passes
        ("rejected", "twilio", "queued", "twilio", False),
        ("queued", "twilio", "rejected", "twilio", False),
    ],
)
def test_sms_local_states(
    current: str | None,
    current_source: Source,
    new: str,
    new_source: Source,
    expected: bool,
) -> None:
    got = should_apply(
        "sms", current, None, new, None, current_source=current_source, new_source=new_source
    )
    assert got is expected


@pytest.mark.parametrize(
    ("current", "current_source", "new", "new_source", "expected"),
    [
        ("sending", "local", "queued", "twilio", True),
        ("sending", "local", "completed", "twilio", True),
        ("sending", "local", "sending", "local", False),
        ("failed", "local", "ringing", "twilio", True),
        ("failed", "local", "sending", "local", True),
        ("ringing", "twilio", "sending", "local", False),
        ("completed", "twilio", "failed", "local", False),
        ("rejected", "local", "initiated", "twilio", False),
        # 'sending' is not a Twilio call status
        ("queued", "twilio", "sending", "twilio", False),
    ],
)
def test_call_local_states(
    current: str, current_source: Source, new: str, new_source: Source, expected: bool
) -> None:
    got = should_apply(
        "call", current, None, new, None, current_source=current_source, new_source=new_source
    )
    assert got is expected


def test_sms_claim_then_lifecycle_out_of_order_and_repeated() -> None:
    reports: list[tuple[str, Source]] = [
        ("sending", "local"),
        ("sending", "local"),
        ("queued", "twilio"),
        ("delivered", "twilio"),
        ("sent", "twilio"),
        ("queued", "twilio"),
        ("delivered", "twilio"),
    ]
    current: str | None = None
    current_source: Source = "local"
    for status, source in reports:
        if should_apply(
            "sms", current, None, status, None, current_source=current_source, new_source=source
        ):
            current, current_source = status, source
    assert (current, current_source) == ("delivered", "twilio")


@pytest.mark.parametrize(
    ("channel", "status", "source", "expected"),
    [
        ("sms", "read", "twilio", True),
        ("call", "read", "twilio", False),
        ("call", "initiated", "twilio", True),
        ("sms", "initiated", "twilio", False),
        # the app never writes a local 'received'; Twilio's is for inbound messages only
        ("sms", "received", "local", False),
        ("sms", "received", "twilio", False),
        ("sms", "queued", "local", False),
        ("call", "sending", "local", True),
    ],
)
def test_is_known(channel: Channel, status: str, source: Source, expected: bool) -> None:
    assert is_known(channel, status, source) is expected
