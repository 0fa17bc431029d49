"""HTTP trigger routes and key checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulators.functions_host.function_metadata import (
    Binding,
    FunctionConfigError,
    FunctionSpec,
)
from emulators.functions_host.http_routes import build_route, compile_template
from emulators.functions_host.http_server import is_authorized
from emulators.functions_host.settings_loader import LocalSettings


def http_function(name: str, **trigger: object) -> FunctionSpec:
    raw = {"name": "req", "type": "httpTrigger", "direction": "in", **trigger}
    binding = Binding("req", "httpTrigger", "in", None, raw)
    return FunctionSpec(
        name,
        Path("/app") / name,
        Path("/app") / name / "__init__.py",
        "main",
        (binding,),
        disabled=False,
    )


def test_default_route_is_prefix_and_name() -> None:
    route = build_route(http_function("echo"), "api")
    assert route.match("api/echo") == {}
    assert route.match("api/echo/more") is None
    assert route.auth_level == "function"
    assert route.allows("DELETE")


def test_custom_route_methods_and_parameters() -> None:
    route = build_route(
        http_function("orders", route="orders/{id:int}/{part?}", methods=["get", "Post"]), "api"
    )
    assert route.match("api/orders/42") == {"id": "42"}
    assert route.match("api/orders/42/lines") == {"id": "42", "part": "lines"}
    assert route.match("api/orders/abc") is None
    assert route.allows("POST")
    assert not route.allows("PUT")


def test_empty_prefix() -> None:
    assert compile_template("hooks/{name}").fullmatch("hooks/x")


def test_unknown_auth_level_is_rejected() -> None:
    with pytest.raises(FunctionConfigError, match="authLevel"):
        build_route(http_function("x", authLevel="user"), "api")


def test_keys_by_auth_level() -> None:
    settings = LocalSettings(function_keys={"default": "host", "fn": "own"}, master_key="master")
    anonymous = build_route(http_function("anon", authLevel="anonymous"), "api")
    function = build_route(http_function("fn", authLevel="function"), "api")
    admin = build_route(http_function("adm", authLevel="admin"), "api")
    assert is_authorized(anonymous, settings, None)
    assert not is_authorized(function, settings, None)
    assert not is_authorized(function, settings, "wrong")
    for key in ("own", "host", "master"):
        assert is_authorized(function, settings, key)
    assert not is_authorized(admin, settings, "host")
    assert is_authorized(admin, settings, "master")
