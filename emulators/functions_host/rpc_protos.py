"""Load the Functions RPC protobuf modules shipped inside azure-functions-runtime-v1.

The wheel installs them in a stray top-level `tests` package (`tests/protos/…`) whose
`__init__` also needs grpcio. Importing them as `tests.protos` would clash with this project's
own `tests` folder, so they are loaded by file path under a private package name instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path
from typing import Any

_PRIVATE_PACKAGE = "_afrv1_protos"
_DISTRIBUTION = "azure-functions-runtime-v1"


class ProtosNotFoundError(RuntimeError):
    """The installed azure-functions-runtime-v1 does not ship the RPC protobuf modules."""


def _protos_directory() -> Path:
    try:
        files = importlib.metadata.files(_DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    for file in files:
        if file.as_posix().endswith("tests/protos/FunctionRpc_pb2.py"):
            return Path(str(file.locate())).parent
    raise ProtosNotFoundError(
        f"{_DISTRIBUTION} is not installed or has no tests/protos/FunctionRpc_pb2.py"
    )


def load_protos() -> Any:
    """The namespace the runtime expects as `protos` (messages, enums and nullable types).

    Loaded once per process; later calls return the same module.
    """
    if _PRIVATE_PACKAGE in sys.modules:
        return sys.modules[_PRIVATE_PACKAGE]
    directory = _protos_directory()
    # A bare package (no __init__ run) so the generated modules' relative imports resolve
    # without importing grpc.
    spec = importlib.util.spec_from_loader(_PRIVATE_PACKAGE, loader=None, is_package=True)
    assert spec is not None
    package = importlib.util.module_from_spec(spec)
    package.__path__ = [str(directory)]
    sys.modules[_PRIVATE_PACKAGE] = package
    rpc = importlib.import_module(f"{_PRIVATE_PACKAGE}.FunctionRpc_pb2")
    nullable = importlib.import_module(f"{_PRIVATE_PACKAGE}.shared.NullableTypes_pb2")
    for source in (rpc, nullable):
        for name in dir(source):
            if not name.startswith("_"):
                setattr(package, name, getattr(source, name))
    return package
