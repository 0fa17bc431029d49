"""The emulator's shared runtime objects, stored on the aiohttp app under `EMULATOR`.

Route modules (messages, calls, inspection) reach everything through `request.app[EMULATOR]`.
"""

import copy
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from emulators.twilio_api.background import Background
from emulators.twilio_api.callbacks import CallbackSender, DeliveryLog
from emulators.twilio_api.clock import Clock
from emulators.twilio_api.config import EmulatorConfig
from emulators.twilio_api.faults import Faults
from emulators.twilio_api.message_resource import Message

ResetHook = Callable[[], Awaitable[None] | None]


@dataclass
class Emulator:
    """Config, clock, faults, callback sender and every stored resource of one emulator."""

    config: EmulatorConfig
    clock: Clock
    faults: Faults
    background: Background
    deliveries: DeliveryLog
    callbacks: CallbackSender
    messages: dict[str, Message] = field(default_factory=dict)
    reset_hooks: list[ResetHook] = field(default_factory=list)

    @classmethod
    def from_config(cls, config: EmulatorConfig) -> "Emulator":
        """Build the runtime for `config` (the HTTP session opens at app start-up)."""
        faults = Faults(copy.deepcopy(config.faults))
        background = Background()
        deliveries = DeliveryLog()
        return cls(
            config=config,
            clock=Clock(config.speed),
            faults=faults,
            background=background,
            deliveries=deliveries,
            callbacks=CallbackSender(config.auth_token, faults, background, deliveries),
        )

    def on_reset(self, hook: ResetHook) -> None:
        """Register a function that clears a module's own state on `POST /_emulator/reset`."""
        self.reset_hooks.append(hook)

    async def reset(self) -> None:
        """Stop every lifecycle and delivery, forget all resources, restore start-up faults."""
        await self.background.cancel_all()
        self.messages.clear()
        self.deliveries.clear()
        self.callbacks.reset()
        self.faults.configure(copy.deepcopy(self.config.faults))
        for hook in self.reset_hooks:
            result = hook()
            if inspect.isawaitable(result):
                await result


EMULATOR = web.AppKey("emulator", Emulator)
