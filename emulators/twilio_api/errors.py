"""Twilio's legacy JSON error bodies `{code, message, more_info, status}` and the middleware that
turns every failure (including unexpected ones) into that shape."""

import logging
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

log = logging.getLogger(__name__)


def more_info(code: int) -> str:
    """Twilio's documentation URL for an error code."""
    return f"https://www.twilio.com/docs/errors/{code}"


class TwilioError(Exception):
    """A request failure to answer with Twilio's JSON error shape and the given HTTP status."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body Twilio sends for this error."""
        return {
            "code": self.code,
            "message": self.message,
            "more_info": more_info(self.code),
            "status": self.status,
        }

    def response(self) -> web.Response:
        """This error as an aiohttp response."""
        return web.json_response(self.body(), status=self.status, headers=self.headers)


def bad_request(code: int, message: str) -> TwilioError:
    """A 400 validation error with a Twilio error code."""
    return TwilioError(400, code, message)


def invalid_to(to: str) -> TwilioError:
    """Twilio's 400 / 21211 for a To that is not a valid phone number (messages and calls)."""
    return bad_request(21211, f"The 'To' number {to} is not a valid phone number.")


def invalid_from(from_: str) -> TwilioError:
    """Twilio's 400 for a From that is no phone number, short code or alphanumeric sender ID."""
    return bad_request(
        21212,
        f"The 'From' number {from_} is not a valid phone number, shortcode, "
        "or alphanumeric sender ID.",
    )


def not_found(path: str) -> TwilioError:
    """Twilio's 404 for a resource or route that does not exist."""
    return TwilioError(404, 20404, f"The requested resource {path} was not found")


def too_many_requests() -> TwilioError:
    """Twilio's 429 for exceeding the account's REST API concurrency."""
    return TwilioError(429, 20429, "Too Many Requests")


def internal_error() -> TwilioError:
    """Twilio's 500 Internal Server Error."""
    return TwilioError(500, 20500, "Internal Server Error")


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer every failure in Twilio's JSON error shape (unknown routes, bad methods, crashes)."""
    try:
        return await handler(request)
    except TwilioError as error:
        return error.response()
    except web.HTTPNotFound:
        return not_found(request.path).response()
    except web.HTTPMethodNotAllowed:
        return TwilioError(405, 20004, "Method not allowed").response()
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return TwilioError(error.status, error.status, error.reason).response()
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return internal_error().response()
