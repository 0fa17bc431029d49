"""The emulator's runtime objects: built from the config, reset to start-up state."""

from __future__ import annotations

from datetime import UTC, datetime

from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.context import Emulator
from emulators.twilio_api.faults import FaultRule, FaultSettings
from emulators.twilio_api.message_resource import Message


def a_message() -> Message:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    return Message(
        sid="SM" + "0" * 32,
        account_sid="AC1",
        to="+15551230000",
        from_="+15005550006",
        body="x",
        messaging_service_sid=None,
        status="delivered",
        num_segments=1,
        media_urls=[],
        date_created=now,
        date_updated=now,
        status_callback=None,
    )


def test_from_config_uses_the_speed_and_copies_the_faults() -> None:
    config = EmulatorConfig(speed=40, faults=FaultSettings(error_429=FaultRule(rate=1, count=1)))
    emulator = Emulator.from_config(config)
    assert emulator.clock.speed == 40
    assert emulator.faults.fire("error_429")
    # Spending a count changes the live copy, never the start-up settings.
    assert config.faults.error_429.count == 1


async def test_reset_forgets_resources_and_restores_start_up_faults() -> None:
    config = EmulatorConfig(faults=FaultSettings(error_500=FaultRule(rate=1, count=2)))
    emulator = Emulator.from_config(config)
    emulator.messages["SM1"] = a_message()
    emulator.deliveries.new_id()
    emulator.faults.fire("error_500")
    emulator.faults.configure(FaultSettings(slow=FaultRule(rate=1)))
    await emulator.reset()
    assert emulator.messages == {}
    assert emulator.deliveries.new_id() == 1
    assert emulator.faults.settings == config.faults
    assert emulator.faults.settings is not config.faults


async def test_reset_runs_plain_and_async_hooks_in_order() -> None:
    emulator = Emulator.from_config(EmulatorConfig())
    ran: list[str] = []

    async def async_hook() -> None:
        ran.append("async")

    emulator.on_reset(lambda: ran.append("plain"))
    emulator.on_reset(async_hook)
    await emulator.reset()
    assert ran == ["plain", "async"]
