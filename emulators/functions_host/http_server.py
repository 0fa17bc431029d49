"""Serve HTTP-triggered functions with aiohttp, converting requests to and from `RpcHttp`.

Keys: `authLevel: function` accepts the function's key or a host key (`default`) or the
master key; `admin` only the master key. A key comes as `?code=` or the `x-functions-key`
header; a missing or wrong key answers 401, like the host.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

from aiohttp import web

from emulators.functions_host import invocation_log
from emulators.functions_host.function_invoker import FunctionInvoker
from emulators.functions_host.http_routes import HttpRoute
from emulators.functions_host.rpc_values import HttpRequestData, HttpResponseData
from emulators.functions_host.settings_loader import LocalSettings

HOST_KEY_NAME = "default"


def accepted_keys(route: HttpRoute, settings: LocalSettings) -> list[str]:
    """The keys that open a route (empty for anonymous routes)."""
    master = [settings.master_key] if settings.master_key else []
    if route.auth_level == "admin":
        return master
    keys = [
        settings.function_keys[name]
        for name in (route.spec.name, HOST_KEY_NAME)
        if settings.function_keys.get(name)
    ]
    return keys + master


def is_authorized(route: HttpRoute, settings: LocalSettings, presented: str | None) -> bool:
    """Whether a request carrying `presented` as its key may call the route."""
    if route.auth_level == "anonymous":
        return True
    if not presented:
        return False
    return any(hmac.compare_digest(presented, key) for key in accepted_keys(route, settings))


def _joined(pairs: Mapping[str, str], lower: bool) -> dict[str, str]:
    """Multi-valued headers/query params joined the way ASP.NET flattens them."""
    joined: dict[str, str] = {}
    for key, value in pairs.items():
        name = key.lower() if lower else key
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    return joined


async def request_data(request: web.Request, route_params: dict[str, str]) -> HttpRequestData:
    """The RpcHttp the host builds: lower-cased headers, non-empty query values, raw body."""
    headers = _joined(request.headers, lower=True)
    query = {k: v for k, v in _joined(request.query, lower=False).items() if v}
    return HttpRequestData(
        method=request.method,
        # As the host builds it: scheme://host + the path and query exactly as received.
        url=f"{request.scheme}://{request.host}{request.raw_path}",
        headers=headers,
        query=query,
        params=route_params,
        body=await request.read(),
    )


def to_response(data: HttpResponseData) -> web.Response:
    """An aiohttp response with the function's status, headers (incl. type), cookies, body."""
    response = web.Response(status=data.status, body=data.body)
    for name, value in data.headers.items():
        response.headers[name] = value
    for cookie in data.cookies:
        response.headers.add("Set-Cookie", cookie)
    return response


class HttpTriggerServer:
    """The aiohttp application that routes `/<prefix>/…` to HTTP-triggered functions."""

    def __init__(
        self, routes: list[HttpRoute], invoker: FunctionInvoker, settings: LocalSettings
    ) -> None:
        self._routes = routes
        self._invoker = invoker
        self._settings = settings

    def application(self) -> web.Application:
        """The aiohttp application (one catch-all handler)."""
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    def _find(self, path: str, method: str) -> tuple[HttpRoute, dict[str, str]] | None:
        for route in self._routes:
            params = route.match(path)
            if params is not None and route.allows(method):
                return route, params
        return None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        found = self._find(request.path.strip("/"), request.method)
        if found is None:
            return web.Response(status=404)
        route, params = found
        presented = request.query.get("code") or request.headers.get("x-functions-key")
        if not is_authorized(route, self._settings, presented):
            return web.Response(status=401)
        outcome = await self._invoker.invoke(
            route.spec,
            reason="This function was programmatically called via the host APIs.",
            inputs={route.spec.trigger.name: await request_data(request, params)},
            trigger_metadata={},
        )
        if not outcome.succeeded:
            return web.Response(status=500)
        http_outputs = [b.name for b in route.spec.output_bindings() if b.type == "http"]
        for name in http_outputs:
            value = outcome.return_value if name == "$return" else outcome.outputs.get(name)
            if isinstance(value, HttpResponseData):
                return to_response(value)
        if http_outputs:
            invocation_log.log(f"Function '{route.spec.name}' set no HTTP response")
        # The host answers 204 when the function sets no HTTP response.
        return web.Response(status=204)
