"""HTTP Basic auth like Twilio's (account SID + auth token, API key SID + secret, or the test
credentials), and the loopback-only guard for the `/_emulator/` inspection routes."""

import base64
import binascii
import hmac
import ipaddress
import re

from aiohttp import web
from aiohttp.typedefs import Handler

from emulators.twilio_api.context import EMULATOR
from emulators.twilio_api.errors import TwilioError

INSPECTION_PREFIX = "/_emulator/"
_ACCOUNT_PATH = re.compile(r"^/2010-04-01/Accounts/([^/]+?)(?:\.json|/|$)")
# The only routes Twilio's test credentials open (besides IncomingPhoneNumbers, not emulated).
_TEST_CREDENTIAL_CREATE = re.compile(r"^/2010-04-01/Accounts/[^/]+/(?:Messages|Calls)\.json$")
# Set on requests made with the test credentials: creates answer but store and send nothing.
TEST_CREDENTIALS = web.RequestKey("test_credentials", bool)


def uses_test_credentials(request: web.Request) -> bool:
    """True if `request` authenticated with the emulator's test account SID and token."""
    return TEST_CREDENTIALS in request


def is_inspection(path: str) -> bool:
    """True for the emulator's own inspection routes (no Twilio auth, loopback only)."""
    return path.startswith(INSPECTION_PREFIX)


def _is_loopback(peer: str | None) -> bool:
    if peer is None:
        return False
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def _credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        username, sep, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (username, password) if sep else None


def authenticate() -> TwilioError:
    """Twilio's 401 answer for missing or wrong credentials."""
    return TwilioError(
        401, 20003, "Authenticate", headers={"WWW-Authenticate": 'Basic realm="Twilio API"'}
    )


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Let through valid Basic credentials for the configured account; 401/20003 otherwise."""
    if is_inspection(request.path):
        if not _is_loopback(request.remote):
            raise TwilioError(403, 20403, "The emulator inspection API only answers loopback")
        return await handler(request)
    config = request.app[EMULATOR].config
    creds = _credentials(request.headers.get("Authorization", ""))
    if creds is None:
        raise authenticate()
    username, password = creds
    account_sid = config.account_sid
    if username == config.account_sid:
        expected = config.auth_token
    elif username in config.api_keys:
        expected = config.api_keys[username]
    elif username == config.test_account_sid:
        expected, account_sid = config.test_auth_token, config.test_account_sid
    else:
        raise authenticate()
    if not hmac.compare_digest(password.encode(), expected.encode()):
        raise authenticate()
    match = _ACCOUNT_PATH.match(request.path)
    if match and match.group(1) != account_sid:
        # Valid credentials, but for another account than the one in the path.
        raise authenticate()
    if account_sid == config.test_account_sid:
        if request.method != "POST" or not _TEST_CREDENTIAL_CREATE.match(request.path):
            raise TwilioError(403, 20008, "Resource not accessible with Test Account Credentials")
        request[TEST_CREDENTIALS] = True
    return await handler(request)
