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
