"""Twilio's list paging, shared by the Messages and Calls list routes: `PageSize`, `Page` and
`PageToken` (`PA<sid>` = after that resource, `PB<sid>` = before) in; one page's JSON with `start`,
`end`, `uri`, `first_page_uri`, `next_page_uri` and `previous_page_uri` out."""

from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlencode

from aiohttp import web

from emulators.twilio_api.errors import bad_request

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000
MAX_PAGE = 1_000_000


class Listable(Protocol):
    """A resource a list page can show: it has a SID and an API JSON."""

    @property
    def sid(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


def page_json(
    request: web.Request,
    items: Sequence[Listable],
    *,
    key: str,
    base: str,
    filters: dict[str, str],
) -> dict[str, Any]:
    """The page of `items` (already filtered and ordered) that the request's paging asks for.

    `key` names the list in the JSON (`messages`, `calls`), `base` is the collection path and
    `filters` the list filters, repeated in every page URI.
    """
    page_size = _int_query(request, "PageSize", DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = _int_query(request, "Page", 0, 0, MAX_PAGE)
    start, end = _page_bounds(items, request.query.get("PageToken", ""), page, page_size)
    chunk = items[start:end]

    def page_uri(number: int, token: str | None) -> str:
        query: list[tuple[str, str | int]] = [*filters.items(), ("PageSize", page_size)]
        query.append(("Page", number))
        if token:
            query.append(("PageToken", token))
        return f"{base}?{urlencode(query)}"

    has_next = bool(chunk) and end < len(items)
    has_previous = bool(chunk) and start > 0 and page > 0
    return {
        key: [item.to_json() for item in chunk],
        "end": start + max(len(chunk) - 1, 0),
        "first_page_uri": page_uri(0, None),
        "next_page_uri": page_uri(page + 1, "PA" + chunk[-1].sid) if has_next else None,
        "page": page,
        "page_size": page_size,
        "previous_page_uri": page_uri(page - 1, "PB" + chunk[0].sid) if has_previous else None,
        "start": start,
        "uri": page_uri(page, request.query.get("PageToken")),
    }


def _int_query(request: web.Request, key: str, default: int, low: int, high: int) -> int:
    raw = request.query.get(key)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(20001, f"Invalid {key}: {raw}") from None
    if not low <= value <= high:
        raise bad_request(20001, f"{key} must be between {low} and {high}")
    return value


def _page_bounds(
    items: Sequence[Listable], token: str, page: int, page_size: int
) -> tuple[int, int]:
    """The page's slice of `items`: after the token's SID (`PA`), the items before it (`PB`,
    never the token's own item or later ones), else Page*PageSize."""
    if token[:2] in ("PA", "PB"):
        sids = [item.sid for item in items]
        sid = token[2:]
        if sid in sids:
            index = sids.index(sid)
            if token.startswith("PA"):
                return index + 1, index + 1 + page_size
            return max(0, index - page_size), index
    return page * page_size, page * page_size + page_size
