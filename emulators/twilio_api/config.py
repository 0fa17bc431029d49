"""Start-up settings of the Twilio emulator."""

from dataclasses import dataclass, field

from emulators.twilio_api import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_AUTH_TOKEN,
    DEFAULT_PORT,
    DEFAULT_TEST_ACCOUNT_SID,
    DEFAULT_TEST_AUTH_TOKEN,
)
from emulators.twilio_api.faults import FaultSettings


@dataclass
class EmulatorConfig:
    """Everything the emulator needs to start: address, credentials, time scale and faults."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    # Twilio-style test credentials: only creates, strict magic numbers, nothing stored or sent.
    test_account_sid: str = DEFAULT_TEST_ACCOUNT_SID
    test_auth_token: str = DEFAULT_TEST_AUTH_TOKEN
    # API key SID (SK…) -> secret; either these or the account SID + auth token open the API.
    api_keys: dict[str, str] = field(default_factory=dict)
    # Emulated seconds per real second: 1 = realistic pacing, 200 = a message's life in ms.
    speed: float = 1.0
    # Outbound calls started per (emulated) second, like Twilio's account CPS (default 1).
    cps: float = 1.0
    faults: FaultSettings = field(default_factory=FaultSettings)
