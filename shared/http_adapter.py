"""A `requests` transport adapter that checks the CA bundle once per process instead of once per
request.

`requests` looks at the file system on every request to decide how to trust servers: `isdir`
of a CA bundle path (`verify`, e.g. from `REQUESTS_CA_BUNDLE`) to pick the connection pool, even
for http, and for https `exists`/`isdir` of the bundle (certifi's when `verify` is True). The
answer does not change while the process runs, so this adapter keeps the first one.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from requests import PreparedRequest
from requests.adapters import HTTPAdapter

# The pool size twilio's TwilioHttpClient gives its https adapter (its thread pool's default size).
TWILIO_POOL_SIZE = min(32, (os.cpu_count() or 1) + 4)
# What HTTPAdapter.cert_verify sets on a connection pool.
TRUST_ATTRIBUTES = ("cert_reqs", "ca_certs", "ca_cert_dir", "cert_file", "key_file")


@functools.cache
def _is_directory(path: str) -> bool:
    return os.path.isdir(path)


class CheckedOnceAdapter(HTTPAdapter):
    """An `HTTPAdapter` whose trust settings (`verify`, `cert`) are checked against the file
    system the first time each is used, then reused (the same pools and attributes as
    `HTTPAdapter` chooses, without its per-request `isdir`/`exists`)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._trust: dict[tuple[bool, Any, Any], dict[str, Any]] = {}

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: bool | str, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """`HTTPAdapter`'s pool key, with a CA bundle path's kind (file or folder) looked up
        once."""
        if not isinstance(verify, str):
            return super().build_connection_pool_key_attributes(request, verify, cert)
        host, pool = super().build_connection_pool_key_attributes(request, True, cert)
        pool["ca_cert_dir" if _is_directory(verify) else "ca_certs"] = verify
        return host, pool

    def cert_verify(self, conn: Any, url: str, verify: bool | str, cert: Any) -> None:
        """`HTTPAdapter.cert_verify` (which fails when a bundle is missing) the first time for
        each scheme kind, `verify` and `cert`; later the attributes it set, without checking."""
        key = (url.lower().startswith("https"), verify, cert)
        attributes = self._trust.get(key)
        if attributes is None:
            super().cert_verify(conn, url, verify, cert)
            self._trust[key] = {
                name: getattr(conn, name) for name in TRUST_ATTRIBUTES if hasattr(conn, name)
            }
            return
        for name, value in attributes.items():
            setattr(conn, name, value)
