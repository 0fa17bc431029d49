"""Basic auth (token, API key, wrong → 401/20003), the inspection API and unknown routes."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

FROM = "+15551279999"
API_KEY_SID = "SK" + "1" * 32
API_KEY_SECRET = "emulator-api-key-secret"


def test_account_sid_and_token_work(client: Client) -> None:
    assert client.messages.create(to="+15551270001", from_=FROM, body="x").sid


def test_wrong_token_is_401_20003(kit: Any) -> None:
    wrong = kit.make_client(kit.emulator, password="not-the-token")
    with pytest.raises(TwilioRestException) as caught:
        wrong.messages.create(to="+15551270002", from_=FROM, body="x")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_unknown_user_is_401_20003(kit: Any) -> None:
    stranger = kit.make_client(kit.emulator, username="AC" + "9" * 32)
    with pytest.raises(TwilioRestException) as caught:
        stranger.messages("SM" + "0" * 32).fetch()
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_other_account_in_path_is_401_20003(kit: Any) -> None:
    other = kit.make_client(kit.emulator, account_sid="AC" + "8" * 32)
    with pytest.raises(TwilioRestException) as caught:
        other.messages.create(to="+15551270003", from_=FROM, body="x")
    assert caught.value.code == 20003


def test_missing_credentials_is_401(kit: Any) -> None:
    url = f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Messages.json"
    answer = requests.get(url, timeout=5)
    assert answer.status_code == 401
    assert answer.json()["code"] == 20003
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


def test_api_key_and_secret_work(flagged_emulator: Any, kit: Any) -> None:
    kit.inspect_post("faults", {}, emulator=flagged_emulator)  # no start-up 429 here
    keyed = kit.make_client(
        flagged_emulator,
        username=API_KEY_SID,
        password=API_KEY_SECRET,
        account_sid=flagged_emulator.account_sid,
    )
    message = keyed.messages.create(to="+15551270004", from_=FROM, body="x")
    assert keyed.messages(message.sid).fetch().sid == message.sid


def test_api_key_with_wrong_secret_is_401(flagged_emulator: Any, kit: Any) -> None:
    keyed = kit.make_client(
        flagged_emulator,
        username=API_KEY_SID,
        password="wrong",
        account_sid=flagged_emulator.account_sid,
    )
    with pytest.raises(TwilioRestException) as caught:
        keyed.messages("SM" + "0" * 32).fetch()
    assert caught.value.code == 20003


def test_unknown_api_key_is_401(kit: Any) -> None:
    keyed = kit.make_client(
        kit.emulator,
        username=API_KEY_SID,
        password=API_KEY_SECRET,
        account_sid=kit.emulator.account_sid,
    )
    with pytest.raises(TwilioRestException) as caught:
        keyed.messages("SM" + "0" * 32).fetch()
    assert caught.value.code == 20003


def test_unknown_route_is_twilio_404(kit: Any) -> None:
    answer = requests.get(
        f"{kit.emulator.base_url}/2010-04-01/Accounts/{kit.emulator.account_sid}/Nope.json",
        auth=(kit.emulator.account_sid, kit.emulator.auth_token),
        timeout=5,
    )
    assert answer.status_code == 404
    assert answer.json()["code"] == 20404
    assert answer.json()["more_info"] == "https://www.twilio.com/docs/errors/20404"


def test_inspection_needs_no_auth_and_lists_messages(client: Client, kit: Any) -> None:
    message = client.messages.create(to="+15551270005", from_=FROM, body="look")
    listed = requests.get(f"{kit.emulator.base_url}/_emulator/messages", timeout=5).json()
    (view,) = listed["messages"]
    assert view["sid"] == message.sid
    assert view["body"] == "look"
    assert view["outcome"] == "delivered"
    assert kit.inspect("messages?to=%2B15551270005")["messages"][0]["sid"] == message.sid
    assert kit.inspect("messages?to=%2B15550000000")["messages"] == []


def test_reset_forgets_messages_and_deliveries(client: Client, kit: Any, sink: Any) -> None:
    message = client.messages.create(
        to="+15551270006", from_=FROM, body="x", status_callback=sink.url()
    )
    kit.wait_for(lambda: kit.deliveries(message.sid), "a delivery")
    status, _ = kit.inspect_post("reset")
    assert status == 200
    assert kit.inspect("messages")["messages"] == []
    assert kit.inspect("callbacks")["callbacks"] == []
    with pytest.raises(TwilioRestException):
        client.messages(message.sid).fetch()
