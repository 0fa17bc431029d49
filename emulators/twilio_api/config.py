"""Start-up settings of the Twilio emulator."""

from dataclasses import dataclass, field

from emulators.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, DEFAULT_PORT
from emulators.twilio_api.faults import FaultSettings


@dataclass
class EmulatorConfig:
    """Everything the emulator needs to start: address, credentials, time scale and faults."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    account_sid: str = DEFAULT_ACCOUNT_SID
    auth_token: str = DEFAULT_AUTH_TOKEN
    # API key SID (SK…) -> secret; either these or the account SID + auth token open the API.
    api_keys: dict[str, str] = field(default_factory=dict)
    # Emulated seconds per real second: 1 = realistic pacing, 200 = a message's life in ms.
    speed: float = 1.0
    # Outbound calls started per (emulated) second, like Twilio's account CPS (default 1).
    cps: float = 1.0
    faults: FaultSettings = field(default_factory=FaultSettings)
