"""Fixtures of the core's pure unit tests: an in-memory deliveries table, a list of published
events, and a recorder over both (a test module may override `recorder` to seed rows)."""

from __future__ import annotations

import pytest

from shared.delivery_recorder import DeliveryRecorder
from shared.delivery_store import DeliveryStore
from tests.fakes.table_storage import FakeTable, ListPublisher


@pytest.fixture
def table() -> FakeTable:
    """An empty deliveries table in memory."""
    return FakeTable()


@pytest.fixture
def published() -> ListPublisher:
    """The events the recorder publishes, in order."""
    return ListPublisher()


@pytest.fixture
def recorder(table: FakeTable, published: ListPublisher) -> DeliveryRecorder:
    """A recorder over `table`, publishing to `published`."""
    return DeliveryRecorder(DeliveryStore(table), published)
