"""Keep personal data out of logs: phone numbers are masked."""

from __future__ import annotations

import logging
import re

# azure-core logs every storage request's URL and headers at INFO; the URL holds table keys
# (an opted-out recipient's number is a RowKey), and the Functions host forwards INFO.
AZURE_HTTP_LOGGER = "azure.core.pipeline.policies.http_logging_policy"

# E.164-looking numbers in free text: an optional `+` (or `%2B` in a URL) and 7-15 digits that
# are not part of a longer word (a SID's hex, a longer digit run).
_NUMBER_IN_TEXT = re.compile(r"(?<![\w+%])(\+|%2[Bb])?(\d{7,15})(?!\w)")


def mask_number(number: str | None) -> str:
    """`+15551234567` → `+1******4567`: enough to tell numbers apart, not to dial them."""
    if not number:
        return "-"
    if len(number) <= 6:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


def mask_numbers_in(text: str) -> str:
    """`text` (e.g. a Twilio error message) with every phone-number-looking run masked:
    "The 'To' number +15551234567 is …" → "The 'To' number +1******4567 is …"."""

    def mask(match: re.Match[str]) -> str:
        prefix, digits = match.group(1) or "", match.group(2)
        return prefix + digits[0] + "*" * (len(digits) - 5) + digits[-4:]

    return _NUMBER_IN_TEXT.sub(mask, text)


def masked_error(exc: BaseException) -> str:
    """`exc` for a log line: its type and message, phone numbers masked."""
    return mask_numbers_in(f"{type(exc).__name__}: {exc}")


def quiet_storage_request_logs() -> None:
    """Keep the Azure SDK's per-request logs (URLs with table keys) to warnings and errors."""
    logging.getLogger(AZURE_HTTP_LOGGER).setLevel(logging.WARNING)
