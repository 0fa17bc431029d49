"""The Twilio wrapper without the network: one configured client per process (its session not
trusting the environment per request), and every failure of a Twilio request turned into a
`TwilioRequestError` with its failure class. Twilio's answers come from an adapter mounted on the
real client's session, so twilio's own client parses them as it would parse Twilio's."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from requests.adapters import DEFAULT_POOLSIZE
from urllib3.exceptions import MaxRetryError, NewConnectionError

from shared import twilio_gateway
from shared.failure_classes import FailureClass
from shared.http_adapter import TWILIO_POOL_SIZE
from shared.process_state import reset_process_state
from shared.twilio_gateway import PolledStatus, TwilioRequestError
from tests.conftest import Configure
from tests.fakes.twilio_http import answer_client

PROXY = "http://proxy.example.test:3128"
MESSAGE_SID = "SM" + "a" * 32
CALL_SID = "CA" + "b" * 32


@pytest.fixture
def twilio(configure: Configure) -> Any:
    """`twilio(status, body, error)`: the process's client, answered by a `CannedTwilio`."""
    configure()

    return answer_client


def _message(**fields: Any) -> dict[str, Any]:
    return {
        "sid": MESSAGE_SID,
        "status": "sent",
        "error_code": None,
        "error_message": None,
        **fields,
    }


def test_client_uses_auth_token_base_url_and_timeout(configure: Configure) -> None:
    env = configure(TWILIO_API_BASE_URL="http://127.0.0.1:8701/")
    client = twilio_gateway.get_client()
    sid, token = env.values["TWILIO_ACCOUNT_SID"], env.values["TWILIO_AUTH_TOKEN"]
    assert (client.username, client.password, client.account_sid) == (sid, token, sid)
    assert client.api.base_url == "http://127.0.0.1:8701"
    assert client.http_client.timeout == 2.0
    assert twilio_gateway.get_client() is client


def test_client_uses_an_api_key_when_configured(configure: Configure) -> None:
    key_sid = "SK" + "2" * 32
    env = configure(TWILIO_API_KEY_SID=key_sid, TWILIO_API_KEY_SECRET="key-secret")
    client = twilio_gateway.get_client()
    assert (client.username, client.password, client.account_sid) == (
        key_sid,
        "key-secret",
        env.values["TWILIO_ACCOUNT_SID"],
    )


def test_refused_connection_is_transient(configure: Configure) -> None:
    # base_values points TWILIO_API_BASE_URL at port 9, where nothing listens.
    configure()
    with pytest.raises(twilio_gateway.TwilioRequestError) as caught:
        twilio_gateway.find_calls(to="+15005550006", from_="+15005550006", since=datetime.now(UTC))
    assert caught.value.failure_class == FailureClass.TRANSIENT


def test_the_session_does_not_trust_the_environment_and_keeps_its_proxy(
    plain_env: pytest.MonkeyPatch, configure: Configure
) -> None:
    configure(TWILIO_API_BASE_URL="http://127.0.0.1:9")
    plain_env.setenv("HTTP_PROXY", PROXY)
    plain_env.setenv("REQUESTS_CA_BUNDLE", "/etc/app/ca.pem")
    http_client = twilio_gateway.get_client().http_client
    assert http_client.session.trust_env is False
    assert http_client.proxy == {"http": PROXY}
    assert http_client.session.verify == "/etc/app/ca.pem"


def test_the_session_has_no_proxy_when_none_is_set(
    plain_env: pytest.MonkeyPatch, configure: Configure
) -> None:
    configure()
    http_client = twilio_gateway.get_client().http_client
    assert http_client.session.trust_env is False
    assert http_client.proxy == {}
    assert http_client.session.verify is True


def test_the_proxy_is_chosen_for_twilios_own_endpoint_when_no_base_url_is_set(
    plain_env: pytest.MonkeyPatch, configure: Configure
) -> None:
    plain_env.setenv("HTTPS_PROXY", PROXY)
    plain_env.setenv("NO_PROXY", "127.0.0.1")
    configure()  # TWILIO_API_BASE_URL http://127.0.0.1:9: NO_PROXY covers it
    assert twilio_gateway.get_client().http_client.proxy == {}
    plain_env.delenv("TWILIO_API_BASE_URL")
    reset_process_state()
    client = twilio_gateway.get_client()
    assert client.api.base_url == twilio_gateway.TWILIO_API_BASE_URL
    assert client.http_client.proxy == {"https": PROXY}


def test_the_pools_keep_their_sizes(plain_env: pytest.MonkeyPatch, configure: Configure) -> None:
    configure()
    session = twilio_gateway.get_client().http_client.session
    assert session.get_adapter("https://api.twilio.com/")._pool_maxsize == TWILIO_POOL_SIZE
    assert session.get_adapter("http://127.0.0.1:9/")._pool_maxsize == DEFAULT_POOLSIZE


def test_a_fetched_message_carries_its_status_and_error(twilio: Any) -> None:
    canned = twilio(200, _message(status="undelivered", error_code=30003, error_message="gone"))
    assert twilio_gateway.fetch_message(MESSAGE_SID) == PolledStatus(
        MESSAGE_SID, "undelivered", 30003, "gone"
    )
    (request,) = canned.seen
    assert request.method == "GET"
    assert str(request.url).endswith(f"/Messages/{MESSAGE_SID}.json")
    assert str(request.url).startswith("http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("code", "message", "expected"),
    [("30008", "", (30008, None)), (None, None, (None, None)), ("n/a", "x", (None, "x"))],
)
def test_a_fetched_messages_error_code_is_read_when_it_is_a_number(
    twilio: Any, code: Any, message: Any, expected: tuple[int | None, str | None]
) -> None:
    twilio(200, _message(error_code=code, error_message=message))
    polled = twilio_gateway.fetch_message(MESSAGE_SID)
    assert (polled.error_code, polled.error_message) == expected


def test_a_fetched_call_has_its_status_and_no_error(twilio: Any) -> None:
    twilio(200, {"sid": CALL_SID, "status": "no-answer"})
    assert twilio_gateway.fetch_call(CALL_SID) == PolledStatus(CALL_SID, "no-answer")


@pytest.mark.parametrize(
    ("status", "body", "expected", "code"),
    [
        (
            404,
            {"code": 20404, "message": "not found", "status": 404},
            FailureClass.CONFIGURATION,
            20404,
        ),
        (
            401,
            {"code": 20003, "message": "Authenticate", "status": 401},
            FailureClass.CONFIGURATION,
            20003,
        ),
        (400, {"code": 21211, "message": "bad To", "status": 400}, FailureClass.PERMANENT, 21211),
        (429, {"code": 20429, "message": "Too many", "status": 429}, FailureClass.TRANSIENT, 20429),
        # Without a code twilio reports the status as the code: no table entry, so the status
        # decides.
        (429, {}, FailureClass.TRANSIENT, 429),
        (500, {"code": 20500, "message": "oops", "status": 500}, FailureClass.AMBIGUOUS, 20500),
        (503, "<html>busy</html>", FailureClass.AMBIGUOUS, 503),
        (403, {"message": "Forbidden"}, FailureClass.CONFIGURATION, 403),
        (422, {"message": "odd"}, FailureClass.PERMANENT, 422),
    ],
)
def test_an_error_answer_is_classified_by_code_then_status(
    twilio: Any, status: int, body: Any, expected: FailureClass, code: int | None
) -> None:
    twilio(status, body)
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.fetch_message(MESSAGE_SID)
    assert caught.value.failure_class == expected
    assert (caught.value.code, caught.value.http_status) == (code, status)
    assert caught.value.message.startswith("fetch message: ")


def test_an_rfc_9457_problem_answer_is_classified_and_its_detail_kept(twilio: Any) -> None:
    problem = {
        "type": "https://www.twilio.com/docs/errors/20404",
        "title": "Not found",
        "status": 404,
        "code": 20404,
        "detail": "no Call with that SID",
    }
    twilio(404, problem)
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.fetch_call(CALL_SID)
    error = caught.value
    assert (error.failure_class, error.code, error.http_status) == (
        FailureClass.CONFIGURATION,
        20404,
        404,
    )
    assert error.message == "fetch call: no Call with that SID"


def test_an_error_keeps_its_text_masked_and_unchained(twilio: Any) -> None:
    text = "The 'To' number +15551234567 is not a valid phone number."
    twilio(400, {"code": 21211, "message": text, "status": 400})
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.fetch_message(MESSAGE_SID)
    error = caught.value
    assert error.message.startswith("fetch message: ")
    assert error.message.endswith(text)
    assert "+15551234567" not in str(error)
    assert "+1******4567" in str(error)
    # The host logs the whole chain of a raised exception: twilio's, with the number, is cut.
    assert error.__cause__ is None
    assert error.__suppress_context__ is True


def test_a_failed_list_page_is_classified_from_its_response(twilio: Any) -> None:
    twilio(429, {"code": 20429, "message": "Too many requests", "status": 429})
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.find_calls(to="+15005550006", from_="+15005550001", since=datetime.now(UTC))
    error = caught.value
    assert (error.failure_class, error.code, error.http_status) == (
        FailureClass.TRANSIENT,
        20429,
        429,
    )
    assert error.message.startswith("list calls: ")


def test_a_failed_list_page_without_json_is_judged_by_its_status(twilio: Any) -> None:
    twilio(502, "Bad Gateway")
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.find_messages(
            to="+15005550006", from_=None, body="x", media_count=0, since=datetime.now(UTC)
        )
    assert (caught.value.failure_class, caught.value.code, caught.value.http_status) == (
        FailureClass.AMBIGUOUS,
        None,
        502,
    )


def _refused() -> requests.exceptions.ConnectionError:
    pool_error = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", pool_error))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        # No connection was made: Twilio cannot have processed the request.
        (requests.exceptions.ConnectTimeout("connect timed out"), FailureClass.TRANSIENT),
        (_refused(), FailureClass.TRANSIENT),
        # A connection existed: a POST may have been processed before it broke.
        (requests.exceptions.ReadTimeout("read timed out"), FailureClass.AMBIGUOUS),
        (requests.exceptions.ConnectionError("Connection reset by peer"), FailureClass.AMBIGUOUS),
        (requests.exceptions.ChunkedEncodingError("cut short"), FailureClass.AMBIGUOUS),
    ],
)
def test_a_transport_failure_is_transient_only_when_no_connection_was_made(
    twilio: Any, error: Exception, expected: FailureClass
) -> None:
    twilio(error=error)
    with pytest.raises(TwilioRequestError) as caught:
        twilio_gateway.fetch_message(MESSAGE_SID)
    assert caught.value.failure_class == expected
    assert (caught.value.code, caught.value.http_status) == (None, None)
    assert caught.value.__cause__ is None


def test_an_answer_without_a_sid_is_ambiguous(twilio: Any) -> None:
    twilio(
        200,
        {
            "calls": [
                {
                    "sid": None,
                    "status": "queued",
                    "date_created": "Mon, 01 Jan 2124 00:00:00 +0000",
                }
            ],
            "meta": {"next_page_url": None, "key": "calls"},
        },
    )
    with pytest.raises(TwilioRequestError, match="without a SID") as caught:
        twilio_gateway.find_calls(to="+15005550006", from_="+15005550001", since=datetime.now(UTC))
    assert caught.value.failure_class == FailureClass.AMBIGUOUS
