"""The app's own code (send_sms main(), status_callback main(), the delivery store, the events
publisher) on identity-based storage settings only: an https Azurite that accepts bearer tokens,
the managed identity served by an App Service-style token endpoint (tests/conftest.py). Nothing
in the app knows it is a test: it reads `AzureWebJobsStorage__*` and asks azure-identity."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from emulators.azurite import Azurite
from emulators.azurite_identity import STORAGE_AUDIENCE, ManagedIdentityEndpoint
from shared.app_services import app_publisher, app_store

CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


@pytest.fixture
def storage_settings(
    oauth_azurite: Azurite, identity_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """Identity-based settings (a user-assigned identity) instead of a connection string."""
    for name, value in identity_env.items():
        monkeypatch.setenv(name, value)
    return {
        "AzureWebJobsStorage__queueServiceUri": oauth_azurite.queue_url,
        "AzureWebJobsStorage__tableServiceUri": oauth_azurite.table_url,
        "AzureWebJobsStorage__credential": "managedidentity",
        "AzureWebJobsStorage__clientId": CLIENT_ID,
    }


def test_the_clients_use_the_endpoints_and_the_user_assigned_identity(
    app: Any, oauth_azurite: Azurite, identity_endpoint: ManagedIdentityEndpoint
) -> None:
    before = len(identity_endpoint.requests)
    assert app_store().table.url.startswith(oauth_azurite.table_url)
    assert app_publisher().queue.url.startswith(oauth_azurite.queue_url)
    # Creating the table and queue took a token for the configured identity.
    assert identity_endpoint.requests[before:] == [(STORAGE_AUDIENCE, CLIENT_ID)]


def test_sms_is_sent_and_its_callbacks_recorded(app: Any, rid: str) -> None:
    app.send_sms({"id": rid, "to": "+15551238001", "body": f"secretless {rid}"})
    state = app.wait_status(rid, "delivered")
    (message,) = app.messages_for(rid)
    assert state.twilio_sid == message["sid"]
    events = app.wait_events_until("delivered")
    assert {e["twilio_sid"] for e in events} == {message["sid"]}
    statuses = {row["status"] for row in app_store().list_history(rid)}
    assert {"queued", "sent", "delivered"} <= statuses


def test_bad_input_is_recorded_as_rejected(app: Any, rid: str) -> None:
    app.send_sms({"id": rid, "to": "not-a-number", "body": "never sent"})
    state = app_store().get_state(rid)
    assert state is not None
    assert state.status == "rejected"
    assert app.messages_for(rid) == []


def _post_callback(app: Any, rid: str, form: dict[str, str]) -> int:
    url = f"{app.values['PUBLIC_BASE_URL']}/api/status_callback?rid={rid}&channel=sms"
    signature = RequestValidator(app.values["TWILIO_AUTH_TOKEN"]).compute_signature(url, form)
    request = urllib.request.Request(
        url, data=urlencode(form).encode(), headers={"X-Twilio-Signature": signature}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_a_signed_status_callback_is_recorded(app: Any, rid: str) -> None:
    assert app_store().create_state(
        rid, {"channel": "sms", "status": "sending", "status_source": "local", "event_count": 0}
    )
    sid = "SM" + "e" * 32
    assert _post_callback(app, rid, {"MessageSid": sid, "MessageStatus": "delivered"}) == 204
    state = app_store().get_state(rid)
    assert state is not None
    assert (state.status, state.twilio_sid) == ("delivered", sid)
    assert [e["status"] for e in app.events()] == ["delivered"]
