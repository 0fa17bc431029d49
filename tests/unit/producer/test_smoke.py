"""`run_smoke`: unsigned webhook requests must be refused, and an invalid SMS request must be
recorded as rejected with its history row. The app's HTTP answers are a stand-in for
`requests.request` and the app itself is played by the `sleep` callback over the in-memory
queue and table; nothing leaves the process."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests
from azure.core.exceptions import ServiceRequestError

from producer.errors import InvalidInputError
from producer.queues import decode_message_text
from producer.settings import ProducerSettings
from producer.smoke import HTTP_TIMEOUT_SECONDS, INVALID_TO, SmokeCheck, run_smoke
from shared.delivery_store import DeliveryStore
from shared.storage_connection import ConnectionString
from tests.fakes.queue_storage import FakeQueueService
from tests.unit.producer.conftest import FakeTableService

SETTINGS = ProducerSettings(ConnectionString("UseDevelopmentStorage=true"))
BASE = "https://app.example"


@dataclass
class Answer:
    status_code: int


@dataclass
class App:
    """The deployed app as the smoke test sees it: webhook answers, and what `send_sms` does
    with the request while the smoke test sleeps."""

    queues: FakeQueueService
    tables: FakeTableService
    status_codes: dict[str, int] = field(default_factory=dict)
    http: list[tuple[str, str, dict[str, object]]] = field(default_factory=list)
    record: Callable[[DeliveryStore, str], None] | None = None
    sleeps: int = 0

    def request(self, method: str, url: str, **options: object) -> Answer:
        self.http.append((method, url, options))
        answer = self.status_codes.get(url, 403)
        if answer < 0:
            raise requests.ConnectionError("refused")
        return Answer(answer)

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        if self.record is None:
            return
        for text in self.queues.contents(SETTINGS.sms_queue):
            request = json.loads(decode_message_text(text) or "")
            store = DeliveryStore(self.tables.get_table_client(SETTINGS.deliveries_table))
            self.record(store, str(request["id"]))


def rejects(store: DeliveryStore, request_id: str) -> None:
    """What the app does with the smoke request: state `rejected`, then its history row."""
    if store.create_state(request_id, {"channel": "sms", "status": "rejected"}) is not None:
        store.add_history(request_id, "local-0-rejected", {"status": "rejected"})


@pytest.fixture
def app(
    queue_service: FakeQueueService,
    table_service: FakeTableService,
    monkeypatch: pytest.MonkeyPatch,
) -> App:
    app = App(queue_service, table_service, record=rejects)
    monkeypatch.setattr(requests, "request", app.request)
    return app


def smoke(app: App, timeout: float = 60.0) -> tuple[bool, list[SmokeCheck]]:
    seen: list[SmokeCheck] = []
    passed = run_smoke(SETTINGS, BASE + "/", timeout=timeout, report=seen.append, sleep=app.sleep)
    return passed, seen


def test_a_healthy_deployment_passes(app: App, queue_service: FakeQueueService) -> None:
    passed, checks = smoke(app)
    assert passed
    assert [check.passed for check in checks] == [True, True, True]
    assert [(method, url) for method, url, _ in app.http] == [
        ("POST", f"{BASE}/api/status_callback"),
        ("GET", f"{BASE}/api/twiml_voice"),
    ]
    for _, _, options in app.http:
        assert options["timeout"] == HTTP_TIMEOUT_SECONDS
        assert options["allow_redirects"] is False
    assert checks[2].seen == "status rejected, its event published"
    [text] = queue_service.contents(SETTINGS.sms_queue)
    request = json.loads(decode_message_text(text) or "")
    assert request["to"] == INVALID_TO
    assert str(request["id"]).startswith("smoke-")
    assert request["id"] in checks[2].name


def test_a_webhook_that_answers_unsigned_requests_fails(app: App) -> None:
    app.status_codes[f"{BASE}/api/twiml_voice"] = 200
    passed, checks = smoke(app)
    assert not passed
    assert (checks[1].passed, checks[1].seen) == (False, "HTTP 200")
    assert checks[2].passed  # every check runs and is reported


def test_an_unreachable_app_fails_with_the_error(app: App) -> None:
    app.status_codes[f"{BASE}/api/status_callback"] = -1
    passed, checks = smoke(app)
    assert not passed
    assert checks[0].seen == "no answer: ConnectionError: refused"


def test_rejected_without_its_history_row_is_not_enough(app: App) -> None:
    app.record = lambda store, request_id: (
        store.create_state(request_id, {"channel": "sms", "status": "rejected"}) and None
    )
    passed, checks = smoke(app, timeout=0.05)
    assert not passed
    assert "status rejected, its event not published yet (no history row)" in checks[2].seen


def test_nothing_recorded_within_the_deadline_fails(app: App) -> None:
    app.record = None
    passed, checks = smoke(app, timeout=0)
    assert not passed
    assert checks[2].seen == "after 0s: nothing recorded"
    assert app.sleeps == 0


def test_the_reason_of_the_rejection_is_shown(app: App) -> None:
    def with_reason(store: DeliveryStore, request_id: str) -> None:
        values = {"channel": "sms", "status": "rejected", "error_message": "to: bad number"}
        store.create_state(request_id, values)
        store.add_history(request_id, "local-0-rejected", {"status": "rejected"})

    app.record = with_reason
    passed, checks = smoke(app)
    assert passed
    assert checks[2].seen == "status rejected (to: bad number), its event published"


def test_a_storage_failure_is_a_failed_check(app: App, queue_service: FakeQueueService) -> None:
    queue_service.failures["send_message"].append(ServiceRequestError("refused"))
    passed, checks = smoke(app)
    assert not passed
    assert checks[2].seen.startswith("cannot reach Azure Storage to send the smoke request")


@pytest.mark.parametrize("url", ["app.example", "ftp://app.example", ""])
def test_the_base_url_must_be_http(url: str, app: App) -> None:
    with pytest.raises(InvalidInputError, match="must be http"):
        run_smoke(SETTINGS, url, sleep=app.sleep)
    assert app.http == []
