"""In-memory stand-ins for the storage clients the app's core is built from, for pure unit
tests (the integration tests use real Azurite).

`FakeTable` keeps Azure Table storage's rules that the store relies on: ETags that change on
every write, If-Match on MERGE (412 → `ResourceModifiedError`), insert conflicts (409 →
`ResourceExistsError`), all-or-nothing entity-group transactions of one partition
(`TableTransactionError` with the failing operation's status), and the filters the store uses
(`Name op @param` clauses joined by `and`, ops eq/ge/gt/le/lt). Every request is counted by
operation, so tests can state a path's request count.
"""

from __future__ import annotations

import copy
import itertools
import operator
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.data.tables import TableEntity, TableTransactionError, UpdateMode

from shared.contracts import DeliveryEvent

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ge": operator.ge,
    "gt": operator.gt,
    "le": operator.le,
    "lt": operator.lt,
}


class FakeTable:
    """A `TableClient` in memory (the methods `DeliveryStore` calls)."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], dict[str, Any]] = {}
        self.etags: dict[tuple[str, str], str] = {}
        self.requests: Counter[str] = Counter()
        # Raised (once each, in order) by the next requests: a storage outage in a test.
        self.failures: list[Exception] = []
        self._versions = itertools.count(1)

    # --- what a TableClient offers ------------------------------------------------------

    def get_entity(self, partition_key: str, row_key: str) -> TableEntity:
        self._request("get")
        key = (partition_key, row_key)
        if key not in self.rows:
            raise ResourceNotFoundError("The specified resource does not exist.")
        return self._entity(key)

    def create_entity(self, entity: Mapping[str, Any]) -> dict[str, Any]:
        self._request("insert")
        return {"etag": self._create(entity)}

    def update_entity(
        self,
        entity: Mapping[str, Any],
        mode: UpdateMode = UpdateMode.MERGE,
        *,
        etag: str | None = None,
        match_condition: MatchConditions | None = None,
    ) -> dict[str, Any]:
        self._request("merge" if mode == UpdateMode.MERGE else "replace")
        return {"etag": self._update(entity, mode, etag, match_condition)}

    def upsert_entity(
        self, entity: Mapping[str, Any], mode: UpdateMode = UpdateMode.MERGE
    ) -> dict[str, Any]:
        self._request("upsert")
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        if mode == UpdateMode.REPLACE or key not in self.rows:
            self.rows[key] = dict(entity)
        else:
            self.rows[key].update(entity)
        return {"etag": self._touch(key)}

    def delete_entity(self, partition_key: str, row_key: str) -> None:
        self._request("delete")
        key = (partition_key, row_key)
        if key not in self.rows:
            raise ResourceNotFoundError("The specified resource does not exist.")
        del self.rows[key], self.etags[key]

    def submit_transaction(
        self,
        operations: list[
            tuple[str, Mapping[str, Any], Mapping[str, Any]] | tuple[str, Mapping[str, Any]]
        ],
    ) -> list[dict[str, Any]]:
        self._request("transaction")
        partitions = {str(op[1]["PartitionKey"]) for op in operations}
        assert len(partitions) == 1, "an entity-group transaction spans one partition"
        saved = (copy.deepcopy(self.rows), dict(self.etags))
        results = []
        for index, op in enumerate(operations):
            kind, entity = op[0], op[1]
            options = dict(op[2]) if len(op) > 2 else {}  # type: ignore[misc]
            try:
                if kind == "create":
                    results.append({"etag": self._create(entity)})
                elif kind == "update":
                    results.append(
                        {
                            "etag": self._update(
                                entity,
                                options.get("mode", UpdateMode.MERGE),
                                options.get("etag"),
                                options.get("match_condition"),
                            )
                        }
                    )
                else:
                    raise NotImplementedError(kind)
            except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError) as error:
                self.rows, self.etags = saved
                status = {
                    ResourceExistsError: 409,
                    ResourceModifiedError: 412,
                    ResourceNotFoundError: 404,
                }[type(error)]
                failed = TableTransactionError(message=f"{index}:{error}")
                failed.status_code = status
                raise failed from None
        return results

    def query_entities(
        self, query_filter: str, *, parameters: Mapping[str, Any], **_: Any
    ) -> Iterator[TableEntity]:
        self._request("query")
        # `and` of clauses, each `Name op @param` or `(Name op @param or …)`.
        clauses = [
            [part.split() for part in clause.strip("() ").split(" or ")]
            for clause in query_filter.split(" and ")
        ]

        def holds(row: Mapping[str, Any], name: str, op: str, value: str) -> bool:
            return name in row and _OPS[op](row[name], parameters[value.removeprefix("@")])

        for key in sorted(self.rows):
            row = self.rows[key]
            if all(any(holds(row, *part) for part in clause) for clause in clauses):
                yield self._entity(key)

    # --- helpers ------------------------------------------------------------------------

    def _request(self, kind: str) -> None:
        self.requests[kind] += 1
        if self.failures:
            raise self.failures.pop(0)

    def _create(self, entity: Mapping[str, Any]) -> str:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        if key in self.rows:
            raise ResourceExistsError("The specified entity already exists.")
        self.rows[key] = dict(entity)
        return self._touch(key)

    def _update(
        self,
        entity: Mapping[str, Any],
        mode: UpdateMode,
        etag: str | None,
        match_condition: MatchConditions | None,
    ) -> str:
        key = (str(entity["PartitionKey"]), str(entity["RowKey"]))
        if key not in self.rows:
            raise ResourceNotFoundError("The specified resource does not exist.")
        if match_condition == MatchConditions.IfNotModified and etag != self.etags[key]:
            raise ResourceModifiedError("The update condition specified was not satisfied.")
        if mode == UpdateMode.MERGE:
            self.rows[key].update(entity)
        else:
            self.rows[key] = dict(entity)
        return self._touch(key)

    def _touch(self, key: tuple[str, str]) -> str:
        self.etags[key] = f'W/"v{next(self._versions)}"'
        return self.etags[key]

    def _entity(self, key: tuple[str, str]) -> TableEntity:
        entity = TableEntity(copy.deepcopy(self.rows[key]))
        entity._metadata = {"etag": self.etags[key], "timestamp": None}
        return entity


class ListPublisher:
    """A `Publisher` that keeps the events it is given; `failures` are raised first."""

    def __init__(self) -> None:
        self.events: list[DeliveryEvent] = []
        self.failures: list[Exception] = []

    def publish(self, event: DeliveryEvent) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.events.append(event)
