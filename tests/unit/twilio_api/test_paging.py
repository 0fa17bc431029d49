"""List paging: PageSize/Page/PageToken in, one page with Twilio's page URIs out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import make_mocked_request

from emulators.twilio_api.errors import TwilioError
from emulators.twilio_api.paging import DEFAULT_PAGE_SIZE, page_json

BASE = "/2010-04-01/Accounts/AC1/Messages.json"


@dataclass
class Item:
    sid: str

    def to_json(self) -> dict[str, Any]:
        return {"sid": self.sid}


ITEMS = [Item(f"SM{i:02d}") for i in range(7)]


def page(query: str, items: list[Item] = ITEMS, filters: dict[str, str] | None = None) -> Any:
    request = make_mocked_request("GET", f"{BASE}?{query}")
    return page_json(request, items, key="messages", base=BASE, filters=filters or {})


def query_of(uri: str) -> dict[str, list[str]]:
    parts = urlsplit(uri)
    assert parts.path == BASE
    return parse_qs(parts.query)


def sids(result: Any) -> list[str]:
    return [m["sid"] for m in result["messages"]]


def test_default_page_holds_everything_up_to_50() -> None:
    result = page("")
    assert sids(result) == [i.sid for i in ITEMS]
    assert (result["page"], result["page_size"], result["start"], result["end"]) == (
        0,
        DEFAULT_PAGE_SIZE,
        0,
        6,
    )
    assert result["next_page_uri"] is None
    assert result["previous_page_uri"] is None


def test_pages_by_number_with_start_end_and_links() -> None:
    first = page("PageSize=3")
    assert sids(first) == ["SM00", "SM01", "SM02"]
    assert (first["start"], first["end"]) == (0, 2)
    assert query_of(first["next_page_uri"]) == {
        "PageSize": ["3"],
        "Page": ["1"],
        "PageToken": ["PASM02"],
    }
    assert first["previous_page_uri"] is None
    middle = page("PageSize=3&Page=1")
    assert sids(middle) == ["SM03", "SM04", "SM05"]
    assert (middle["start"], middle["end"]) == (3, 5)
    assert query_of(middle["previous_page_uri"])["PageToken"] == ["PBSM03"]
    last = page("PageSize=3&Page=2")
    assert sids(last) == ["SM06"]
    assert (last["start"], last["end"]) == (6, 6)
    assert last["next_page_uri"] is None


def test_a_last_full_page_has_no_next_page() -> None:
    result = page("PageSize=3&Page=1", items=ITEMS[:6])
    assert sids(result) == ["SM03", "SM04", "SM05"]
    assert result["next_page_uri"] is None


def test_page_tokens_walk_forward_and_back_by_sid() -> None:
    after = page("PageSize=3&Page=1&PageToken=PASM01")
    assert sids(after) == ["SM02", "SM03", "SM04"]
    before = page("PageSize=3&Page=1&PageToken=PBSM04")
    assert sids(before) == ["SM01", "SM02", "SM03"]


def test_a_previous_page_holds_only_items_before_the_token() -> None:
    # Page 1 (PageSize 3) begins at SM03; after SM00 is deleted, only SM01 and SM02 precede it.
    items = ITEMS[1:]
    current = page("PageSize=3&Page=1&PageToken=PASM02", items=items)
    assert sids(current) == ["SM03", "SM04", "SM05"]
    back = page(
        str(current["previous_page_uri"]).partition("?")[2],
        items=items,
    )
    assert sids(back) == ["SM01", "SM02"]


def test_an_unknown_token_falls_back_to_the_page_number() -> None:
    assert sids(page("PageSize=2&Page=1&PageToken=PASMgone")) == ["SM02", "SM03"]


def test_every_uri_repeats_the_filters_and_the_page_size() -> None:
    result = page("PageSize=2", filters={"To": "+15551230000"})
    for key in ("uri", "first_page_uri", "next_page_uri"):
        query = query_of(result[key])
        assert query["To"] == ["+15551230000"]
        assert query["PageSize"] == ["2"]
    assert query_of(result["first_page_uri"])["Page"] == ["0"]


def test_a_page_past_the_end_is_empty_without_links() -> None:
    result = page("PageSize=5&Page=4")
    assert result["messages"] == []
    assert (result["start"], result["end"]) == (20, 20)
    assert result["next_page_uri"] is None
    assert result["previous_page_uri"] is None


def test_empty_list() -> None:
    result = page("", items=[])
    assert (result["messages"], result["start"], result["end"]) == ([], 0, 0)


@pytest.mark.parametrize("query", ["PageSize=0", "PageSize=1001", "PageSize=x", "Page=-1"])
def test_bad_paging_values_are_20001(query: str) -> None:
    with pytest.raises(TwilioError) as caught:
        page(query)
    assert (caught.value.status, caught.value.code) == (400, 20001)


def test_page_size_1000_is_allowed() -> None:
    assert page("PageSize=1000")["page_size"] == 1000
