"""Calls API and TwiML runner. Placeholder created by engineer A so the app imports it; engineer B
owns this file from now on and replaces it with the real Calls API (keep `setup(app)`)."""

from aiohttp import web


def setup(app: web.Application) -> None:
    """Register the Calls routes on `app` (none yet)."""
    del app
