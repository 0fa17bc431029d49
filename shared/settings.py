"""App settings, read once from the environment and checked; a bad setting fails by name."""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from shared.contracts import E164_PATTERN, MESSAGING_SERVICE_SID_PATTERN
from shared.storage_connection import (
    DEFAULT_CONNECTION,
    IDENTITY_SUFFIXES,
    StorageConnection,
    StorageSettingError,
    load_storage_connection,
    read_setting,
)

_E164 = re.compile(E164_PATTERN)
# Azure Storage queue names: 3-63 lowercase letters, digits and single hyphens, none at either end.
QUEUE_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$")
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9]{2,62}$")
_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(MESSAGING_SERVICE_SID_PATTERN)
# A timer schedule may also be a TimeSpan (`[d.]hh:mm:ss`), as the Functions host reads it.
_TIMESPAN = re.compile(r"^(\d+\.)?\d{1,2}:\d{2}:\d{2}$")
# The documented defaults of the queue and table names (the producer uses the same).
DEFAULT_NAMES = {
    "SMS_QUEUE_NAME": "sms-requests",
    "CALL_QUEUE_NAME": "call-requests",
    "EVENTS_QUEUE_NAME": "delivery-events",
    "DELIVERIES_TABLE_NAME": "deliveries",
}


# Never echoed in an error: secrets, and the SIDs a secret is easily pasted into by mistake.
_HIDDEN_SETTINGS = frozenset(
    {
        "AzureWebJobsStorage",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY_SECRET",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_API_KEY_SID",
    }
)


# Every app setting the function app reads (the host's own settings are not listed). The
# deployment's cross-checks compare this with the settings the Bicep templates write.
# Storage: a connection string, or the identity-based `AzureWebJobsStorage__*` settings (all five
# are read, so a mix of both kinds is reported).
SETTING_NAMES = frozenset(
    {
        DEFAULT_CONNECTION,
        *(DEFAULT_CONNECTION + suffix for suffix in IDENTITY_SUFFIXES),
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_API_KEY_SID",
        "TWILIO_API_KEY_SECRET",
        "TWILIO_FROM_NUMBER",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_API_BASE_URL",
        "TWILIO_HTTP_TIMEOUT_SECONDS",
        "PUBLIC_BASE_URL",
        "SMS_QUEUE_NAME",
        "CALL_QUEUE_NAME",
        "EVENTS_QUEUE_NAME",
        "DELIVERIES_TABLE_NAME",
        "STATUS_SWEEP_SCHEDULE",
        "STATUS_SWEEP_BACKOFF_SECONDS",
        "STATUS_SWEEP_MAX_AGE_HOURS",
        "STATUS_SWEEP_MAX_DELIVERIES",
        "STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES",
    }
)

# The status sweeper's defaults (README "Settings"): every minute; a delivery still open is
# polled 1 min after it was opened, then 5 min, 30 min, 2 h and every 6 h after the previous
# poll (an SMS can stay `sent` for days when the carrier sends no receipt), for at most 72 h.
DEFAULT_STATUS_SWEEP_SCHEDULE = "0 */1 * * * *"
DEFAULT_STATUS_SWEEP_BACKOFF = (60.0, 300.0, 1800.0, 7200.0, 21600.0)
DEFAULT_STATUS_SWEEP_MAX_AGE_HOURS = 72.0
DEFAULT_STATUS_SWEEP_MAX_DELIVERIES = 200
# Longer than maxDequeueCount (5) × (the host's 10-minute message lease + visibilityTimeout):
# by then a claim's queue message has run its last attempt or is in -poison.
DEFAULT_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES = 60.0


def _shown(name: str, value: str) -> str:
    """How an error shows the bad `value` of setting `name`: hidden for secrets, and for a URL
    with user info, a query or a fragment (passwords, function keys `?code=`)."""
    if name in _HIDDEN_SETTINGS:
        return f"a value of {len(value)} characters (not shown)"
    if name.endswith("_URL") and any(mark in value for mark in "@?#"):
        return "a URL with user info, a query or a fragment (not shown)"
    return repr(value)


class SettingsError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Every app setting the function app reads (see the Settings table in README.md)."""

    storage: StorageConnection
    twilio_account_sid: str
    twilio_auth_token: str
    twilio_api_key_sid: str | None
    twilio_api_key_secret: str | None
    twilio_from_number: str | None
    twilio_messaging_service_sid: str | None
    twilio_api_base_url: str | None
    twilio_http_timeout_seconds: float
    public_base_url: str
    sms_queue_name: str
    call_queue_name: str
    events_queue_name: str
    deliveries_table_name: str
    status_sweep_schedule: str = DEFAULT_STATUS_SWEEP_SCHEDULE
    status_sweep_backoff_seconds: tuple[float, ...] = DEFAULT_STATUS_SWEEP_BACKOFF
    status_sweep_max_age_hours: float = DEFAULT_STATUS_SWEEP_MAX_AGE_HOURS
    status_sweep_max_deliveries: int = DEFAULT_STATUS_SWEEP_MAX_DELIVERIES
    status_sweep_claim_timeout_minutes: float = DEFAULT_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES


def _optional(env: Mapping[str, str], name: str) -> str | None:
    try:
        return read_setting(env, name)
    except StorageSettingError as error:  # an unresolved Key Vault reference, in any setting
        raise SettingsError(str(error)) from None


def _storage(env: Mapping[str, str]) -> StorageConnection:
    try:
        return load_storage_connection(env, DEFAULT_CONNECTION)
    except StorageSettingError as error:
        raise SettingsError(str(error)) from None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise SettingsError(f"setting {name} is missing or empty")
    return value


def _check(value: str, name: str, pattern: re.Pattern[str], what: str) -> str:
    if not pattern.fullmatch(value):
        raise SettingsError(f"setting {name} must be {what}, got {_shown(name, value)}")
    return value


def _check_optional(
    value: str | None, name: str, pattern: re.Pattern[str], what: str
) -> str | None:
    return None if value is None else _check(value, name, pattern, what)


def _base_url(value: str, name: str) -> str:
    """An absolute http(s) URL without query or fragment; the trailing slash is dropped."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise SettingsError(
            f"setting {name} must be an absolute http(s) URL without query, "
            f"got {_shown(name, value)}"
        )
    return value.rstrip("/")


def _timeout(value: str | None, name: str, default: float) -> float:
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        raise SettingsError(
            f"setting {name} must be a number of seconds, got {_shown(name, value)}"
        ) from None
    if not 0 < seconds <= 300:
        raise SettingsError(
            f"setting {name} must be between 0 and 300 seconds, got {_shown(name, value)}"
        )
    return seconds


def load_settings(env: Mapping[str, str]) -> Settings:
    """Build and check `Settings` from a mapping of environment variables."""
    key_sid = _check_optional(
        _optional(env, "TWILIO_API_KEY_SID"), "TWILIO_API_KEY_SID", _KEY_SID, "an API key SID"
    )
    key_secret = _optional(env, "TWILIO_API_KEY_SECRET")
    if (key_sid is None) != (key_secret is None):
        raise SettingsError(
            "settings TWILIO_API_KEY_SID and TWILIO_API_KEY_SECRET must be set together"
        )
    api_base_url = _optional(env, "TWILIO_API_BASE_URL")
    return Settings(
        storage=_storage(env),
        twilio_account_sid=_check(
            _required(env, "TWILIO_ACCOUNT_SID"),
            "TWILIO_ACCOUNT_SID",
            _ACCOUNT_SID,
            "an account SID",
        ),
        twilio_auth_token=_required(env, "TWILIO_AUTH_TOKEN"),
        twilio_api_key_sid=key_sid,
        twilio_api_key_secret=key_secret,
        twilio_from_number=_check_optional(
            _optional(env, "TWILIO_FROM_NUMBER"), "TWILIO_FROM_NUMBER", _E164, "an E.164 number"
        ),
        twilio_messaging_service_sid=_check_optional(
            _optional(env, "TWILIO_MESSAGING_SERVICE_SID"),
            "TWILIO_MESSAGING_SERVICE_SID",
            _SERVICE_SID,
            "a Messaging Service SID",
        ),
        twilio_api_base_url=(
            None if api_base_url is None else _base_url(api_base_url, "TWILIO_API_BASE_URL")
        ),
        twilio_http_timeout_seconds=_timeout(
            _optional(env, "TWILIO_HTTP_TIMEOUT_SECONDS"), "TWILIO_HTTP_TIMEOUT_SECONDS", 10.0
        ),
        public_base_url=_base_url(_required(env, "PUBLIC_BASE_URL"), "PUBLIC_BASE_URL"),
        sms_queue_name=_queue_name(env, "SMS_QUEUE_NAME"),
        call_queue_name=_queue_name(env, "CALL_QUEUE_NAME"),
        events_queue_name=_queue_name(env, "EVENTS_QUEUE_NAME"),
        deliveries_table_name=_check(
            _optional(env, "DELIVERIES_TABLE_NAME") or DEFAULT_NAMES["DELIVERIES_TABLE_NAME"],
            "DELIVERIES_TABLE_NAME",
            _TABLE_NAME,
            "a table name (3-63 letters and digits, starting with a letter)",
        ),
        **_status_sweep_settings(env),
    )


def _status_sweep_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The status sweeper's settings (`Settings.status_sweep_*`), checked."""
    schedule = _optional(env, "STATUS_SWEEP_SCHEDULE") or DEFAULT_STATUS_SWEEP_SCHEDULE
    if len(schedule.split()) not in (5, 6) and not _TIMESPAN.fullmatch(schedule):
        raise SettingsError(
            "setting STATUS_SWEEP_SCHEDULE must be an NCRONTAB expression (six fields: second "
            f"minute hour day month day-of-week) or a TimeSpan (hh:mm:ss), got {schedule!r}"
        )
    backoff_text = _optional(env, "STATUS_SWEEP_BACKOFF_SECONDS")
    backoff: tuple[float, ...] = DEFAULT_STATUS_SWEEP_BACKOFF
    if backoff_text is not None:
        backoff = tuple(
            _positive(part.strip(), "STATUS_SWEEP_BACKOFF_SECONDS", float, "seconds")
            for part in backoff_text.split(",")
        )
    return {
        "status_sweep_schedule": schedule,
        "status_sweep_backoff_seconds": backoff,
        "status_sweep_max_age_hours": _positive(
            _optional(env, "STATUS_SWEEP_MAX_AGE_HOURS"),
            "STATUS_SWEEP_MAX_AGE_HOURS",
            float,
            "hours",
            DEFAULT_STATUS_SWEEP_MAX_AGE_HOURS,
        ),
        "status_sweep_max_deliveries": _positive(
            _optional(env, "STATUS_SWEEP_MAX_DELIVERIES"),
            "STATUS_SWEEP_MAX_DELIVERIES",
            int,
            "deliveries",
            DEFAULT_STATUS_SWEEP_MAX_DELIVERIES,
        ),
        "status_sweep_claim_timeout_minutes": _claim_timeout(env),
    }


# host.json's functionTimeout: an attempt holds a claim without a SID at most this long, so a
# shorter claim timeout would let the sweeper settle a claim that is still being sent.
MIN_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES = 5.0


def _claim_timeout(env: Mapping[str, str]) -> float:
    minutes = _positive(
        _optional(env, "STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES"),
        "STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES",
        float,
        "minutes",
        DEFAULT_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES,
    )
    if minutes < MIN_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES:
        raise SettingsError(
            "setting STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES must be at least "
            f"{MIN_STATUS_SWEEP_CLAIM_TIMEOUT_MINUTES:g} minutes (host.json's functionTimeout: "
            f"a shorter one could settle a claim still being sent), got {minutes:g}"
        )
    return minutes


def _positive[N: (int, float)](
    value: str | None, name: str, kind: type[N], unit: str, default: N | None = None
) -> N:
    """`value` as a positive `kind` (comma lists: one item); `default` when absent."""
    if value is None and default is not None:
        return default
    try:
        number = kind(value or "")
    except ValueError:
        number = kind(0)
    if not number > 0 or number != number or number == float("inf"):
        raise SettingsError(
            f"setting {name} must be a positive number of {unit}, got {_shown(name, value or '')}"
        )
    return number


def _queue_name(env: Mapping[str, str], name: str) -> str:
    return _check(
        _optional(env, name) or DEFAULT_NAMES[name],
        name,
        QUEUE_NAME,
        "a storage queue name (3-63 lowercase letters, digits, single hyphens)",
    )


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use and then cached.

    Tests that change environment variables call `shared.process_state.reset_process_state()`.
    """
    return load_settings(os.environ)
