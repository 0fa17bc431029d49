"""Queue names as the Storage Queues extension treats them: lower-cased, validated, `-poison`."""

from __future__ import annotations

from shared.settings import QUEUE_NAME

POISON_SUFFIX = "-poison"


class InvalidQueueNameError(ValueError):
    """A (resolved) queue name Azure Storage would reject."""


def is_valid_queue_name(name: str) -> bool:
    """Whether Azure Storage accepts `name` as a queue name."""
    return bool(QUEUE_NAME.match(name))


def normalize_queue_name(name: str) -> str:
    """Lower-case a resolved queue name and validate it, as the extension does for bindings."""
    lowered = name.lower()  # the extension coerces to lowercase "to be nice"
    if "{" in lowered:
        raise InvalidQueueNameError(
            f"'{name}' uses a binding expression, which the functions host stand-in does not "
            "support (only %AppSetting% references)"
        )
    if not is_valid_queue_name(lowered):
        raise InvalidQueueNameError(
            f"'{lowered}' is not a valid queue name "
            "(3-63 lowercase letters, digits and single hyphens, no hyphen at either end)"
        )
    return lowered


def poison_queue_name(queue_name: str) -> str | None:
    """`<queue>-poison`, or None where the real host has no poison queue.

    Like QueueListenerFactory.CreatePoisonQueueReference: none for a queue that is itself a
    poison queue, and none when the suffix would make the name invalid (over 63 characters).
    """
    if queue_name.endswith(POISON_SUFFIX):
        return None
    candidate = queue_name + POISON_SUFFIX
    return candidate if is_valid_queue_name(candidate) else None
