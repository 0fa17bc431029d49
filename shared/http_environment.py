"""What `requests` reads from the environment on every request when a session trusts it
(`trust_env`), read once instead: the Twilio client's session has `trust_env` off, because those
lookups (`~/.netrc`, the proxy variables) cost a sixth of the host's CPU when storage went
through `requests` too; the storage transport (urllib3) reads nothing from the environment, so
both take the proxies and CA bundle from here.

A change of these variables therefore needs a new process, like any app setting.
"""

from __future__ import annotations

import os


def environment_proxies(endpoint: str) -> dict[str, str]:
    """The proxies the environment names for `endpoint` (`HTTPS_PROXY`, `HTTP_PROXY`,
    `ALL_PROXY`; none when `NO_PROXY` covers its host), as `requests` would choose them."""
    # `requests` answers with urllib's `getproxies()` unless NO_PROXY covers the host: with no
    # proxy variable at all (the usual case) the answer is empty, and a process whose storage
    # and webhooks never use `requests` (status_callback, twiml_voice) need not import it.
    from urllib.request import getproxies

    if not getproxies():
        return {}
    from requests.utils import get_environ_proxies

    return {scheme: url for scheme, url in get_environ_proxies(endpoint).items() if scheme != "no"}


def environment_ca_bundle() -> str | bool:
    """The CA bundle `REQUESTS_CA_BUNDLE` (else `CURL_CA_BUNDLE`) names, as `requests` would
    use it for `verify`; True (certifi's bundle) when neither is set."""
    return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
