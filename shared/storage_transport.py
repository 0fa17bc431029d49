"""The HTTP transport under every storage client: azure-core's `HttpTransport` on urllib3's
connection pools, without `requests` in between.

`requests` costs CPU on each storage request (merging session settings, hooks, cookies, its own
header dictionaries) for features the SDKs do not use: they bring their own retries, redirects,
proxies and authentication. `make bench-transport` measures the two side by side
(`bench/transport_cost.py`). Everything else is azure-core's: the SDKs' pipelines, policies and
response types.

What this transport does, as azure-core's `RequestsTransport` does it:
- timeouts per client (`connection_timeout`, `read_timeout`), overridable per call;
- trust: `connection_verify` True (certifi's bundle, as `requests` uses), False, or a CA bundle
  file or folder; `connection_cert` a client certificate file or (certificate, key) pair;
- a proxy per request from the `proxies` the SDK's proxy policy passes (scheme, else `all`;
  `http://` when it names none), with the user and password in its URL as Basic credentials;
- no retries and no redirects of its own (the SDK's retry and redirect policies do those);
- each failure as the azure-core error the retry policy expects.

What it does not do: stream a response. Each body is read whole, also when the SDK asks for a
stream (`stream=True`: a batch's answer, which it then reads whole anyway). Every storage answer
the app and the producer get (messages, entities, batch answers) is small; a blob download
would be held in memory, and nothing here makes one (the host stand-in's own clients are the
SDKs' async ones, on aiohttp).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import urllib3
from azure.core.exceptions import (
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._http_response_impl import HttpResponseImpl
from azure.core.utils import case_insensitive_dict
from urllib3.exceptions import (
    ClosedPoolError,
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProxyError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util import Timeout, make_headers, parse_url

if TYPE_CHECKING:
    from azure.core.rest import HttpRequest

# Connections kept per host: more than the threads that may send at once (the worker's pool,
# the webhooks' pool, the sweeper), so none is opened and dropped per request.
POOL_SIZE = 64
# How each proxy scheme key applies to a request's URL, in the order `requests` tries them.
PROXY_KEYS = ("{scheme}", "all")

Trust = tuple[bool | str, str | tuple[str, str] | None]


def trust_keywords(verify: bool | str, cert: str | tuple[str, str] | None) -> dict[str, Any]:
    """urllib3's TLS pool keywords for `verify` and `cert`, as `requests` maps them: True is
    certifi's bundle, a path is a bundle file or a folder of certificates, False checks
    nothing; `cert` is a certificate file (with its key) or a (certificate, key) pair."""
    keywords: dict[str, Any]
    if verify is False:
        keywords = {"cert_reqs": "CERT_NONE", "assert_hostname": False}
    elif verify is True:
        import certifi

        keywords = {"cert_reqs": "CERT_REQUIRED", "ca_certs": certifi.where()}
    elif os.path.isdir(verify):
        keywords = {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir": verify}
    else:
        keywords = {"cert_reqs": "CERT_REQUIRED", "ca_certs": verify}
    if isinstance(cert, tuple):
        keywords["cert_file"], keywords["key_file"] = cert
    elif cert:
        keywords["cert_file"] = cert
    return keywords


def proxy_for(url: str, proxies: Mapping[str, str] | None) -> str | None:
    """The proxy `proxies` (scheme → proxy URL, or `all`) names for `url`, or None; one
    written without a scheme (`proxy:3128`) is an http proxy, as `requests` takes it."""
    if not proxies:
        return None
    scheme = url.split(":", 1)[0].lower()
    for key in PROXY_KEYS:
        proxy = proxies.get(key.format(scheme=scheme))
        if proxy:
            return proxy if parse_url(proxy).scheme else f"http://{proxy}"
    return None


def proxy_credentials(proxy: str) -> dict[str, str]:
    """The `Proxy-Authorization` header for the user and password in `proxy`'s URL, as
    `requests` sends it (urllib3 ignores them); none without both."""
    parts = urlsplit(proxy)
    if not parts.username or parts.password is None:
        return {}
    return make_headers(proxy_basic_auth=f"{unquote(parts.username)}:{unquote(parts.password)}")


class StoragePools:
    """The process's connection pools for storage: one urllib3 `PoolManager` (or
    `ProxyManager`) per proxy and trust setting, made on first use and shared by every client
    and thread (urllib3's managers are thread-safe)."""

    def __init__(self, pool_size: int = POOL_SIZE) -> None:
        self._pool_size = pool_size
        self._managers: dict[tuple[str | None, Trust], urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def manager(
        self, proxy: str | None, verify: bool | str, cert: str | tuple[str, str] | None
    ) -> urllib3.PoolManager:
        """The manager for `proxy` (None: direct) and the trust settings; the file system is
        looked at (bundle file or folder) once per setting, not per request."""
        key = (proxy, (verify, cert))
        manager = self._managers.get(key)
        if manager is None:
            with self._lock:
                manager = self._managers.get(key)
                if manager is None:
                    manager = self._new_manager(proxy, verify, cert)
                    self._managers[key] = manager
        return manager

    def _new_manager(
        self, proxy: str | None, verify: bool | str, cert: str | tuple[str, str] | None
    ) -> urllib3.PoolManager:
        keywords = {"maxsize": self._pool_size, **trust_keywords(verify, cert)}
        if proxy is None:
            return urllib3.PoolManager(**keywords)
        return urllib3.ProxyManager(proxy, proxy_headers=proxy_credentials(proxy), **keywords)

    def urlopen(
        self,
        method: str,
        url: str,
        *,
        body: bytes | str | None,
        headers: Mapping[str, str],
        timeout: Timeout,
        proxy: str | None,
        verify: bool | str,
        cert: str | tuple[str, str] | None,
    ) -> urllib3.BaseHTTPResponse:
        """Send one request and read its answer whole: no retry, no redirect followed."""
        return self.manager(proxy, verify, cert).urlopen(
            method,
            url,
            body=body,
            headers=dict(headers),
            timeout=timeout,
            retries=False,
            redirect=False,
            preload_content=True,
        )

    def clear(self) -> None:
        """Close every pooled connection and forget the managers."""
        with self._lock:
            for manager in self._managers.values():
                manager.clear()
            self._managers.clear()


@functools.cache
def storage_pools() -> StoragePools:
    """The process's storage connection pools (`process_state.reset_process_state()` forgets
    them)."""
    return StoragePools()


class StorageResponse(HttpResponseImpl):
    """An azure-core response over a urllib3 answer whose body was read whole."""

    def __init__(self, request: HttpRequest, answer: urllib3.BaseHTTPResponse) -> None:
        # The mapping, not its items: a header the answer repeats keeps every value, joined
        # with ", " as `requests` gives it (the items list each value on its own).
        headers = case_insensitive_dict(answer.headers)
        super().__init__(
            request=request,
            internal_response=answer,
            status_code=answer.status,
            reason=answer.reason or "",
            headers=headers,
            content_type=headers.get("Content-Type"),
            stream_download_generator=None,
        )
        self._content = answer.data
        self._is_stream_consumed = True
        self._is_closed = True


def service_error(error: HTTPError) -> ServiceRequestError | ServiceResponseError:
    """The azure-core error for a urllib3 failure: the request was not sent (connect, TLS,
    proxy, a closed pool), or its answer was not read; timeouts as their own kinds. The retry
    policies count the two apart (`retry_connect`, `retry_read`); which requests they send
    again does not depend on it: the tables SDK's only idempotent methods (never a POST, nor
    a merge's PATCH), the queue SDK's every method."""
    if isinstance(error, NewConnectionError | ProxyError | SSLError | ClosedPoolError):
        return ServiceRequestError(error, error=error)
    if isinstance(error, ConnectTimeoutError):
        return ServiceRequestTimeoutError(error, error=error)
    if isinstance(error, ReadTimeoutError):
        return ServiceResponseTimeoutError(error, error=error)
    return ServiceResponseError(error, error=error)


class StorageTransport(HttpTransport["HttpRequest", StorageResponse]):
    """azure-core's transport on the process's `StoragePools` (see the module docstring).

    One per client; the pools are shared, so closing a client leaves them open."""

    def __init__(
        self,
        *,
        connection_timeout: float = 300,
        read_timeout: float = 300,
        connection_verify: bool | str = True,
        connection_cert: str | tuple[str, str] | None = None,
        pools: StoragePools | None = None,
    ) -> None:
        self._timeouts = (connection_timeout, read_timeout)
        self._verify = connection_verify
        self._cert = connection_cert
        self._pools = pools or storage_pools()

    def __enter__(self) -> StorageTransport:
        return self

    def __exit__(self, *exc_details: object) -> None:
        self.close()

    def open(self) -> None:
        """Nothing to open: connections are made by the pools when needed."""

    def close(self) -> None:
        """Nothing to close: the pools belong to the process."""

    def send(
        self,
        request: HttpRequest,
        *,
        proxies: MutableMapping[str, str] | None = None,
        **kwargs: Any,
    ) -> StorageResponse:
        """Send `request` and return its whole answer; keyword options as `RequestsTransport`
        takes them (`connection_timeout`, `read_timeout`, `connection_verify`,
        `connection_cert`; `stream` is ignored: see the module docstring)."""
        timeout = Timeout(
            connect=kwargs.get("connection_timeout", self._timeouts[0]),
            read=kwargs.get("read_timeout", self._timeouts[1]),
        )
        body, headers = request.content, request.headers
        if isinstance(body, str):
            # azure-core's Content-Length counts the characters; the bytes sent are UTF-8, and
            # `requests` sent their length (a short one leaves bytes for the next request).
            body = body.encode()
            if "Content-Length" in headers:
                headers = case_insensitive_dict(headers)
                headers["Content-Length"] = str(len(body))
        try:
            answer = self._pools.urlopen(
                request.method,
                request.url,
                body=body,
                headers=headers,
                timeout=timeout,
                proxy=proxy_for(request.url, proxies),
                verify=kwargs.get("connection_verify", self._verify),
                cert=kwargs.get("connection_cert", self._cert),
            )
        except HTTPError as error:
            raise service_error(error) from error
        return StorageResponse(request, answer)
