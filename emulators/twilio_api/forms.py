"""Reading a REST request's form body the way Twilio does: string fields only."""

from aiohttp import web
from multidict import MultiDict, MultiDictProxy


async def read_form(request: web.Request) -> MultiDictProxy[str]:
    """The form fields of a request (file uploads, which Twilio never gets, are dropped)."""
    posted = await request.post()
    return MultiDictProxy(MultiDict((k, v) for k, v in posted.items() if isinstance(v, str)))
