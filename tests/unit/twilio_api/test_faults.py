"""Fault switches: rate and count, seeded and repeatable, JSON and CLI forms, concurrency limit."""

from __future__ import annotations

from typing import Any

import pytest

from emulators.twilio_api.faults import SWITCHES, FaultRule, Faults, FaultSettings, parse_rule


def faults(**rules: FaultRule) -> Faults:
    return Faults(FaultSettings(**rules))  # type: ignore[arg-type]


def test_every_switch_is_off_by_default() -> None:
    live = Faults(FaultSettings())
    assert not any(live.fire(switch) for switch in SWITCHES for _ in range(20))


def test_rate_one_with_a_count_fires_exactly_count_times() -> None:
    live = faults(error_429=FaultRule(rate=1.0, count=2))
    assert [live.fire("error_429") for _ in range(4)] == [True, True, False, False]
    assert live.settings.error_429.count == 0


def test_rate_one_without_a_count_always_fires() -> None:
    live = faults(slow=FaultRule(rate=1.0))
    assert all(live.fire("slow") for _ in range(50))


def test_a_partial_rate_fires_about_that_share_and_repeats_with_the_seed() -> None:
    def draws(seed: int) -> list[bool]:
        live = Faults(FaultSettings(error_500=FaultRule(rate=0.3), seed=seed))
        return [live.fire("error_500") for _ in range(1000)]

    first = draws(7)
    assert 200 < sum(first) < 400
    assert draws(7) == first
    assert draws(8) != first


def test_configure_reseeds() -> None:
    settings = FaultSettings(error_500=FaultRule(rate=0.5), seed=3)
    live = Faults(settings)
    first = [live.fire("error_500") for _ in range(30)]
    live.configure(FaultSettings(error_500=FaultRule(rate=0.5), seed=3))
    assert [live.fire("error_500") for _ in range(30)] == first


def test_a_partial_rate_spends_its_count_only_when_it_fires() -> None:
    live = Faults(FaultSettings(error_500=FaultRule(rate=0.5, count=3), seed=1))
    fired = sum(live.fire("error_500") for _ in range(100))
    assert fired == 3


def test_concurrency_limit_counts_requests_in_flight() -> None:
    live = Faults(FaultSettings(concurrency_limit=2))
    assert not live.over_concurrency_limit()
    live.in_flight = 1
    assert not live.over_concurrency_limit()
    live.in_flight = 2
    assert live.over_concurrency_limit()
    assert not Faults(FaultSettings()).over_concurrency_limit()


def test_json_round_trip_including_in_flight_from_a_get() -> None:
    settings = FaultSettings(
        error_429=FaultRule(rate=1.0, count=2), slow_seconds=0.5, concurrency_limit=4, seed=9
    )
    assert FaultSettings.from_json({**settings.to_json(), "in_flight": 3}) == settings


def test_switches_left_out_are_off() -> None:
    settings = FaultSettings.from_json({"error_500": {"rate": 1}})
    assert settings.error_500 == FaultRule(rate=1.0)
    assert settings.error_429 == FaultRule()
    assert settings.slow_seconds == 2.0


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"error_4299": {"rate": 1}}, "unknown fault switches"),
        ({"error_429": {"rate": 1.5}}, "rate must be between 0 and 1"),
        ({"error_429": {"rate": -0.1}}, "rate must be between 0 and 1"),
        ({"error_429": {"rate": 1, "count": -1}}, "count must be >= 0"),
        ({"error_429": {"rate": 1, "extra": 1}}, "error_429 must be an object"),
        ({"error_429": [1]}, "error_429 must be an object"),
        ({"error_429": {"rate": 1, "count": True}}, "error_429.count must be an integer"),
        ({"slow_seconds": -1}, "slow_seconds must be >= 0"),
        ({"concurrency_limit": 0}, "concurrency_limit must be >= 1"),
    ],
)
def test_bad_json_is_a_value_error_naming_the_rule(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        FaultSettings.from_json(data)


def test_null_fields_are_the_same_as_left_out() -> None:
    nulls = {
        **{switch: None for switch in SWITCHES},
        "slow_seconds": None,
        "concurrency_limit": None,
        "seed": None,
    }
    assert FaultSettings.from_json(nulls) == FaultSettings()
    rule = FaultSettings.from_json({"error_429": {"rate": None, "count": None}}).error_429
    assert rule == FaultRule()
    assert FaultSettings.from_json({"slow": {"rate": 1, "count": None}}).slow == FaultRule(rate=1)


@pytest.mark.parametrize(
    ("data", "named"),
    [
        ({"error_429": {"rate": "1"}}, r"error_429\.rate must be a number, got '1'"),
        ({"error_429": {"rate": True}}, r"error_429\.rate must be a number, got True"),
        ({"slow": {"rate": [1]}}, r"slow\.rate must be a number"),
        ({"slow": {"rate": 1, "count": "2"}}, r"slow\.count must be an integer, got '2'"),
        ({"slow": {"rate": 1, "count": 1.5}}, r"slow\.count must be an integer, got 1\.5"),
        ({"slow_seconds": {}}, "slow_seconds must be a number, got {}"),
        ({"slow_seconds": float("inf")}, "slow_seconds must be a finite number"),
        ({"slow_seconds": float("nan")}, "slow_seconds must be a finite number"),
        ({"seed": [1]}, r"seed must be an integer, got \[1\]"),
        ({"seed": "x"}, "seed must be an integer, got 'x'"),
        ({"seed": 1.7}, "seed must be an integer, got 1.7"),
        ({"concurrency_limit": False}, "concurrency_limit must be an integer, got False"),
    ],
)
def test_wrong_types_are_a_value_error_naming_the_field(data: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        FaultSettings.from_json(data)


def test_integral_floats_are_integers() -> None:
    settings = FaultSettings.from_json({"seed": 3.0, "slow": {"rate": 1, "count": 2.0}})
    assert settings.seed == 3
    assert settings.slow.count == 2
    assert isinstance(settings.slow.count, int)


def test_parse_rule_reads_rate_and_optional_count() -> None:
    assert parse_rule("0.1") == FaultRule(rate=0.1)
    assert parse_rule("1:3") == FaultRule(rate=1.0, count=3)


@pytest.mark.parametrize(
    ("text", "named"),
    [("2", "rate must be"), ("-1", "rate must be"), ("1:-2", "count must be"), ("x", "float")],
)
def test_parse_rule_refuses_bad_rules(text: str, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        parse_rule(text)
