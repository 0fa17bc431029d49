"""Fault injection through `/_emulator/faults` and start-up flags."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

FROM = "+15551269999"


def send(client: Client, to: str = "+15551260001", **kwargs: Any) -> Any:
    return client.messages.create(to=to, from_=FROM, body="x", **kwargs)


def set_faults(kit: Any, **faults: Any) -> dict[str, Any]:
    status, body = kit.inspect_post("faults", faults)
    assert status == 200, body
    return body  # type: ignore[no-any-return]


def test_429_for_the_next_two_requests(client: Client, kit: Any) -> None:
    set_faults(kit, error_429={"rate": 1, "count": 2})
    for _ in range(2):
        with pytest.raises(TwilioRestException) as caught:
            send(client)
        assert (caught.value.status, caught.value.code) == (429, 20429)
    assert send(client).status == "queued"
    assert len(kit.inspect("messages")["messages"]) == 1  # refused requests stored nothing
    assert kit.inspect("faults")["error_429"]["count"] == 0


def test_500_refuses_without_storing(client: Client, kit: Any) -> None:
    set_faults(kit, error_500={"rate": 1, "count": 1})
    with pytest.raises(TwilioRestException) as caught:
        send(client)
    assert (caught.value.status, caught.value.code) == (500, 20500)
    assert kit.inspect("messages")["messages"] == []


def test_500_after_store_is_ambiguous(client: Client, kit: Any, sink: Any) -> None:
    set_faults(kit, error_500_after_store={"rate": 1, "count": 1})
    with pytest.raises(TwilioRestException) as caught:
        send(client, to="+15551260002", status_callback=sink.url())
    assert (caught.value.status, caught.value.code) == (500, 20500)
    (stored,) = kit.inspect("messages")["messages"]
    assert stored["to"] == "+15551260002"
    # The message lives on: it is delivered and reported although the client saw a 500.
    kit.wait_for(lambda: "delivered" in sink.statuses(stored["sid"]), "the delivered callback")


def test_rate_draws_are_seeded_and_repeatable(client: Client, kit: Any) -> None:
    def outcomes() -> list[bool]:
        set_faults(kit, error_429={"rate": 0.5}, seed=7)
        results = []
        for _ in range(12):
            try:
                send(client)
                results.append(True)
            except TwilioRestException:
                results.append(False)
        return results

    first = outcomes()
    assert True in first
    assert False in first
    assert outcomes() == first


def test_slow_answer_still_stores_the_message(kit: Any) -> None:
    set_faults(kit, slow={"rate": 1, "count": 1}, slow_seconds=2)
    impatient = Client(kit.emulator.account_sid, kit.emulator.auth_token)
    impatient.http_client = TwilioHttpClient(timeout=0.3)
    impatient.api.base_url = kit.emulator.base_url
    with pytest.raises(requests.exceptions.Timeout):
        send(impatient, to="+15551260003")
    (stored,) = kit.inspect("messages")["messages"]
    assert stored["to"] == "+15551260003"
    # Let the held answer finish so later tests start with nothing in flight.
    kit.wait_for(lambda: kit.inspect("faults")["in_flight"] == 0, "the slow answer to finish")


def test_concurrency_limit_answers_429_above_it(kit: Any) -> None:
    kit.wait_for(lambda: kit.inspect("faults")["in_flight"] == 0, "no request in flight")
    set_faults(kit, concurrency_limit=1, slow={"rate": 1}, slow_seconds=0.5)

    def attempt(index: int) -> int:
        own = kit.make_client(kit.emulator)
        try:
            send(own, to=f"+1555126010{index}")
        except TwilioRestException as error:
            return int(error.code)
        return 201

    with ThreadPoolExecutor(max_workers=4) as pool:
        codes = list(pool.map(attempt, range(4)))
    assert 201 in codes
    assert 20429 in codes
    assert set(codes) <= {201, 20429}


def test_duplicate_callbacks_share_the_token(client: Client, kit: Any, sink: Any) -> None:
    set_faults(kit, duplicate_callbacks={"rate": 1})
    message = send(client, to="+15550000200", status_callback=sink.url())
    received = kit.wait_for(lambda: len(r := sink.for_sid(message.sid)) >= 2 and r, "duplicate")
    assert [r.form["MessageStatus"] for r in received] == ["sent", "sent"]
    tokens = {r.headers["I-Twilio-Idempotency-Token"] for r in received}
    assert len(tokens) == 1
    assert [d["duplicate"] for d in kit.deliveries(message.sid)] == [False, True]


def test_out_of_order_callbacks(client: Client, kit: Any, sink: Any) -> None:
    set_faults(kit, out_of_order_callbacks={"rate": 1, "count": 1})
    message = send(client, to="+15551260004", status_callback=sink.url())
    received = kit.wait_for(lambda: len(r := sink.for_sid(message.sid)) >= 2 and r, "callbacks")
    assert [r.form["MessageStatus"] for r in received] == ["delivered", "sent"]


def test_invalid_fault_settings_are_refused(kit: Any) -> None:
    for body in ({"error_429": {"rate": 2}}, {"bogus": {}}, {"error_500": {"count": -1}}):
        status, answer = kit.inspect_post("faults", body)
        assert status == 400, body
        assert "invalid faults" in answer["message"]


def test_reset_turns_faults_off(client: Client, kit: Any) -> None:
    set_faults(kit, error_429={"rate": 1})
    kit.inspect_post("reset")
    assert send(client).status == "queued"


def test_startup_fault_flag_and_reset_restores_it(flagged_emulator: Any, kit: Any) -> None:
    kit.inspect_post("reset", emulator=flagged_emulator)
    flagged = kit.make_client(flagged_emulator)
    with pytest.raises(TwilioRestException) as caught:
        send(flagged)
    assert caught.value.code == 20429
    assert send(flagged).status == "queued"
    kit.inspect_post("reset", emulator=flagged_emulator)
    with pytest.raises(TwilioRestException):
        send(flagged)
