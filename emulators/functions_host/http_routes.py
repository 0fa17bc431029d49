"""HTTP trigger routes: `/<routePrefix>/<route or function name>`, methods and auth level.

Route templates support `{name}`, optional `{name?}` and constraints (`{id:int}`), which only
shape the match here (a constraint is not type-checked beyond `int`/`alpha`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from emulators.functions_host.function_metadata import FunctionConfigError, FunctionSpec

AUTH_LEVELS = ("anonymous", "function", "admin")
_PARAMETER = re.compile(r"\{(\*?)([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?(\?)?\}")
_CONSTRAINTS = {"int": r"-?\d+", "alpha": r"[A-Za-z]+"}


@dataclass(frozen=True)
class HttpRoute:
    """One HTTP-triggered function's route."""

    spec: FunctionSpec
    pattern: re.Pattern[str]
    template: str
    methods: frozenset[str] | None
    auth_level: str

    def match(self, path: str) -> dict[str, str] | None:
        """Route parameters when `path` matches, else None."""
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        return {k: v for k, v in found.groupdict().items() if v is not None}

    def allows(self, method: str) -> bool:
        """Whether the function accepts this HTTP method."""
        return self.methods is None or method.upper() in self.methods


def compile_template(template: str) -> re.Pattern[str]:
    """A regex for a route template such as `orders/{id:int}/{part?}`."""
    pattern = ""
    position = 0
    for found in _PARAMETER.finditer(template):
        literal = re.escape(template[position : found.start()])
        catch_all, name, constraint, optional = found.groups()
        body = ".*" if catch_all else _CONSTRAINTS.get(constraint or "", r"[^/]+")
        group = f"(?P<{name}>{body})"
        if optional and literal.endswith("/"):
            pattern += literal[:-1] + f"(?:/{group})?"
        else:
            pattern += literal + (f"{group}?" if optional else group)
        position = found.end()
    pattern += re.escape(template[position:])
    return re.compile(pattern, re.IGNORECASE)


def build_route(spec: FunctionSpec, route_prefix: str) -> HttpRoute:
    """The route of an httpTrigger function, from its trigger binding."""
    trigger = spec.trigger
    route = (trigger.setting("route") or spec.name).strip("/")
    template = f"{route_prefix}/{route}" if route_prefix else route
    methods_raw = trigger.raw.get("methods")
    methods = (
        frozenset(str(m).upper() for m in methods_raw)
        if isinstance(methods_raw, list) and methods_raw
        else None
    )
    auth_level = (trigger.setting("authLevel") or "function").lower()
    if auth_level not in AUTH_LEVELS:
        raise FunctionConfigError(
            f"function '{spec.name}': authLevel '{auth_level}' is not one of {AUTH_LEVELS}"
        )
    return HttpRoute(spec, compile_template(template), template, methods, auth_level)
