"""Which delivery status wins: status only moves forward, whatever order reports arrive in.

Twilio posts status callbacks out of order and more than once, and the app records a few states of
its own before Twilio knows about a request. This module decides, for the row that holds a
delivery's current status, whether a new report replaces it. Every report is still appended to the
history by the caller; these rules only guard the *current* status.

Ranks (higher wins, equal does not replace, except where said):

SMS
    local ``sending`` (claimed) < ``accepted`` = ``scheduled`` < ``queued``
    < ``sending`` < ``sent`` < final tier < ``read``.
    ``queued`` ranks above the Messaging Service's initial ``accepted``/``scheduled`` because
    Twilio reports that move (a scheduled message being sent) with a callback of its own.
    The final tier holds ``delivered``, ``failed``, ``undelivered`` and ``canceled``. Inside it a
    failure (``failed``, ``undelivered``) replaces ``delivered`` but never the reverse, so a
    failure is never hidden by a success of lower or equal rank and the outcome does not depend on
    arrival order. ``read`` (RCS/WhatsApp) outranks the final tier: the recipient opened it.
    ``canceled`` is terminal: nothing replaces it, not even ``read``.

Call
    local ``sending`` (claimed) < ``queued`` < ``initiated`` < ``ringing``
    < ``in-progress`` < final tier (``completed``, ``busy``, ``no-answer``, ``failed``,
    ``canceled``).
    ``SequenceNumber`` orders reports of *equal* rank: when both the current and the new report
    carry one, a different status of the same rank replaces the current one only with a higher
    number (this only matters inside the final tier). A report of lower rank never applies, even
    with a higher number, and a report of higher rank applies even with a lower number: Twilio
    fires call events in rank order, so numbers that disagree with the ranks are a numbering fault,
    and trusting the ranks means a final status is never lost or replaced by a non-final one.
    ``canceled`` is terminal here too.

Local states (``source="local"``), written by the app before or instead of Twilio:
    ``rejected`` (bad input; terminal, nothing replaces it),
    ``sending`` (claimed, Twilio has not confirmed), ``failed`` (gave up, with a reason).
    ``sending`` and ``failed`` are also Twilio status names, so callers say which one they mean
    with ``current_source``/``new_source`` (rule of thumb: no Twilio SID yet means local).
    A local ``failed`` only says the app gave up; it is final for the app but not the truth about
    the message: any genuine Twilio report (a message that did reach Twilio after an ambiguous
    timeout) replaces it, and a new local claim (``sending``, e.g. replaying the poison message)
    may replace it too -- the caller must reconcile with Twilio before sending again.
    A local state never replaces a status reported by Twilio, and a claim never replaces another
    claim (that is what makes a duplicate request a no-op).

A report whose status equals the current one changes nothing (duplicates), and an unknown status
(``receiving``, deprecated ``partially_delivered``, typos) never applies.
"""

from __future__ import annotations

from typing import Literal

Channel = Literal["sms", "call"]
Source = Literal["local", "twilio"]

REJECTED = "rejected"
SENDING = "sending"
FAILED = "failed"
CANCELED = "canceled"

_LOCAL_STATUSES = frozenset({REJECTED, SENDING, FAILED})
_LOCAL_ONLY_NAMES = frozenset({REJECTED})

_SMS_FINAL_RANK = 6
_SMS_RANKS: dict[str, int] = {
    "accepted": 2,
    "scheduled": 2,
    "queued": 3,
    "sending": 4,
    "sent": 5,
    "delivered": _SMS_FINAL_RANK,
    "failed": _SMS_FINAL_RANK,
    "undelivered": _SMS_FINAL_RANK,
    "canceled": _SMS_FINAL_RANK,
    "read": 7,
}
_SMS_FAILURES = frozenset({"failed", "undelivered"})

_CALL_FINAL_RANK = 6
_CALL_RANKS: dict[str, int] = {
    "queued": 2,
    "initiated": 3,
    "ringing": 4,
    "in-progress": 5,
    "completed": _CALL_FINAL_RANK,
    "busy": _CALL_FINAL_RANK,
    "no-answer": _CALL_FINAL_RANK,
    "failed": _CALL_FINAL_RANK,
    "canceled": _CALL_FINAL_RANK,
}


def is_known(channel: Channel, status: str, source: Source = "twilio") -> bool:
    """Whether `status` is a status these rules know for `channel` and `source`."""
    if status in _LOCAL_ONLY_NAMES or source == "local":
        return status in _LOCAL_STATUSES
    return status in _twilio_ranks(channel)


def is_final(channel: Channel, status: str, source: Source = "twilio") -> bool:
    """Whether Twilio reported a final status (SMS: delivered, failed, undelivered, canceled,
    read; call: completed, busy, no-answer, failed, canceled). A local state is never final
    here: the app's `failed` (gave up) may still be corrected by Twilio."""
    if source == "local" or status in _LOCAL_ONLY_NAMES:
        return False
    final_rank = _SMS_FINAL_RANK if channel == "sms" else _CALL_FINAL_RANK
    return _twilio_ranks(channel).get(status, 0) >= final_rank


def should_apply(
    channel: Channel,
    current: str | None,
    current_sequence: int | None,
    new: str,
    new_sequence: int | None,
    *,
    current_source: Source = "twilio",
    new_source: Source = "twilio",
) -> bool:
    """Whether the report `new` replaces the current status `current` (None: nothing yet).

    Sequences are Twilio's ``SequenceNumber`` (calls) or None. The sources say whether a
    ``sending``/``failed`` was written by the app (``"local"``) or reported by Twilio;
    ``rejected`` is local whatever the source says. The full rule
    set is in the module docstring.
    """
    if not is_known(channel, new, new_source):
        return False
    if current is None:
        return True
    current_local = current in _LOCAL_ONLY_NAMES or current_source == "local"
    new_local = new in _LOCAL_ONLY_NAMES or new_source == "local"
    if current_local:
        return _local_may_be_replaced(current, new, new_local)
    if new_local:
        return False
    return _twilio_may_be_replaced(channel, current, current_sequence, new, new_sequence)


def _local_may_be_replaced(current: str, new: str, new_local: bool) -> bool:
    if current == REJECTED or current not in _LOCAL_STATUSES:
        return False
    if current == FAILED:
        # Gave up: Twilio's word wins; a new claim (replay) may start again.
        return not new_local or new == SENDING
    # A claim (`sending`): Twilio's word or the app's own outcome replaces it, another claim not.
    return not new_local or new in {REJECTED, FAILED}


def _twilio_may_be_replaced(
    channel: Channel,
    current: str,
    current_sequence: int | None,
    new: str,
    new_sequence: int | None,
) -> bool:
    ranks = _twilio_ranks(channel)
    if current not in ranks:
        # A current status these rules do not know cannot be ranked; a known report replaces it.
        return True
    if current in (new, CANCELED):
        return False
    if ranks[new] != ranks[current]:
        return ranks[new] > ranks[current]
    if channel == "sms":
        return new in _SMS_FAILURES and current not in _SMS_FAILURES
    return (
        current_sequence is not None
        and new_sequence is not None
        and (new_sequence > current_sequence)
    )


def _twilio_ranks(channel: Channel) -> dict[str, int]:
    return _SMS_RANKS if channel == "sms" else _CALL_RANKS
