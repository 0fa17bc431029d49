"""The RPC protobuf modules, loaded from azure-functions-runtime-v1 under a private name."""

from __future__ import annotations

import importlib.metadata
import sys

import pytest

from emulators.functions_host import rpc_protos


def test_the_namespace_has_the_messages_and_nullable_types() -> None:
    protos = rpc_protos.load_protos()
    message = protos.StreamingMessage(request_id="r1")
    assert message.request_id == "r1"
    assert protos.NullableString(value="x").value == "x"
    assert protos.StatusResult.Success != protos.StatusResult.Failure


def test_it_is_loaded_once_under_a_private_name_not_as_tests() -> None:
    first = rpc_protos.load_protos()
    assert rpc_protos.load_protos() is first
    assert sys.modules["_afrv1_protos"] is first
    assert first.__name__ == "_afrv1_protos"
    # The project's own tests package is not shadowed by the wheel's stray `tests`.
    assert "tests.protos" not in sys.modules


def test_a_missing_distribution_says_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rpc_protos, "_DISTRIBUTION", "no-such-distribution-here")
    with pytest.raises(rpc_protos.ProtosNotFoundError, match="no-such-distribution-here"):
        rpc_protos._protos_directory()


def test_a_distribution_without_the_protos_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.metadata, "files", lambda name: [])
    with pytest.raises(rpc_protos.ProtosNotFoundError, match="has no tests/protos/FunctionRpc_pb2"):
        rpc_protos._protos_directory()


def test_the_directory_holds_the_generated_module() -> None:
    assert (rpc_protos._protos_directory() / "FunctionRpc_pb2.py").is_file()
