"""Twilio-style resource SIDs: a two-letter prefix and 32 lowercase hex digits."""

import uuid


def new_sid(prefix: str) -> str:
    """Return a fresh SID such as `SM` + 32 hex digits for the given two-letter prefix."""
    return prefix + uuid.uuid4().hex
