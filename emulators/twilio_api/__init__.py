"""A local emulator of Twilio's REST API v2010 (Messages and Calls).

Run it with `python -m emulators.twilio_api`.
"""

# Documented default credentials so the local stack works out of the box. They are not secrets:
# they only ever open this emulator.
DEFAULT_ACCOUNT_SID = "AC00000000000000000000000000000000"
DEFAULT_AUTH_TOKEN = "emulator0auth0token0000000000000"
# Test credentials, like the pair Twilio gives every account: creates only, strict magic numbers,
# nothing stored and no callbacks.
DEFAULT_TEST_ACCOUNT_SID = "AC00000000000000000000000000000001"
DEFAULT_TEST_AUTH_TOKEN = "emulator0test0token0000000000000"
DEFAULT_PORT = 8701
