"""How the producer's storage clients talk to Azure Storage: timeouts and retries.

An operator at a prompt (or a caller's request handler) wants a quick answer: the producer's
requests are small (one message, one page of at most 32 messages, one request's rows), so a
few seconds per read is plenty. Worst case, hung storage fails after `ATTEMPTS` reads of
`READ_TIMEOUT_SECONDS` plus the backoff between them: under ten seconds.
"""

from __future__ import annotations

CONNECTION_TIMEOUT_SECONDS = 3
# A socket read waiting longer than this means the account is hung, not slow: Azure Storage
# answers these requests in milliseconds (and a table query page within 5 s server-side, which
# one partition's handful of rows never comes near).
READ_TIMEOUT_SECONDS = 4
RETRIES = 1  # one quick retry rides out a dropped connection; more only delays the failure
RETRY_BACKOFF_SECONDS = 1
ATTEMPTS = 1 + RETRIES
# API versions are pinned because the SDKs default to the newest service version they know,
# which an Azurite older than the SDK refuses (400 InvalidHeaderValue) unless started with
# --skipApiVersionCheck, and its Docker image and VS Code extension start it without that flag.
# Queues: the version the functions host's storage clients pin, so both work against the same
# Azurite (raise them together). Tables: azure-data-tables accepts only its own few versions
# (2019-02-02 … 2020-12-06), so not the queue one; its default, which the host's table client
# uses and every Azurite accepts, pinned so an SDK upgrade cannot change it behind our back.
QUEUE_API_VERSION = "2025-11-05"
TABLE_API_VERSION = "2019-02-02"
