"""The proxies and CA bundle the environment names, read as `requests` reads them (the app's
sessions do not trust the environment per request; they ask these once per client)."""

from __future__ import annotations

import pytest

from shared.http_environment import environment_ca_bundle, environment_proxies

PROXY = "http://proxy.example.test:3128"
SECURE_PROXY = "http://secure-proxy.example.test:3129"


def test_no_variables_means_no_proxy_and_certifis_bundle(plain_env: pytest.MonkeyPatch) -> None:
    assert environment_proxies("https://acct.queue.core.windows.net/q") == {}
    assert environment_ca_bundle() is True


def test_the_proxy_for_the_endpoints_scheme_is_named(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("HTTP_PROXY", PROXY)
    plain_env.setenv("HTTPS_PROXY", SECURE_PROXY)
    # Both are handed over: requests picks the one for each request's scheme.
    assert environment_proxies("https://api.twilio.com/2010-04-01") == {
        "http": PROXY,
        "https": SECURE_PROXY,
    }


def test_lower_case_variables_count_too(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("https_proxy", SECURE_PROXY)
    assert environment_proxies("https://api.twilio.com/") == {"https": SECURE_PROXY}


def test_all_proxy_applies_to_every_scheme(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("ALL_PROXY", PROXY)
    assert environment_proxies("http://127.0.0.1:10001/devstoreaccount1") == {"all": PROXY}


@pytest.mark.parametrize(
    ("no_proxy", "endpoint", "bypassed"),
    [
        ("acct.table.core.windows.net", "https://acct.table.core.windows.net/", True),
        ("acct.table.core.windows.net", "https://acct.queue.core.windows.net/", False),
        (".core.windows.net", "https://acct.queue.core.windows.net/", True),
        ("127.0.0.1", "http://127.0.0.1:8701/", True),
        ("*", "https://api.twilio.com/", True),
    ],
)
def test_no_proxy_covers_its_hosts_only(
    plain_env: pytest.MonkeyPatch, no_proxy: str, endpoint: str, bypassed: bool
) -> None:
    plain_env.setenv("HTTPS_PROXY", SECURE_PROXY)
    plain_env.setenv("HTTP_PROXY", PROXY)
    plain_env.setenv("NO_PROXY", no_proxy)
    proxies = environment_proxies(endpoint)
    assert "no" not in proxies
    assert (proxies == {}) is bypassed


def test_requests_ca_bundle_wins_over_curl_ca_bundle(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("CURL_CA_BUNDLE", "/etc/curl/ca.pem")
    assert environment_ca_bundle() == "/etc/curl/ca.pem"
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    assert environment_ca_bundle() == "/etc/app/ca.pem"


def test_an_empty_bundle_variable_is_ignored(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("REQUESTS_CA_BUNDLE", "")
    plain_env.setenv("CURL_CA_BUNDLE", "/etc/curl/ca.pem")
    assert environment_ca_bundle() == "/etc/curl/ca.pem"
    plain_env.setenv("CURL_CA_BUNDLE", "")
    assert environment_ca_bundle() is True


def test_each_call_reads_the_environment_as_it_is_now(plain_env: pytest.MonkeyPatch) -> None:
    plain_env.setenv("HTTPS_PROXY", PROXY)
    assert environment_proxies("https://api.twilio.com/") == {"https": PROXY}
    plain_env.delenv("HTTPS_PROXY")
    assert environment_proxies("https://api.twilio.com/") == {}
