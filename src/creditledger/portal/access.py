"""Who may reach the portal, and with which requests: an ASGI layer in front of Datasette.

- Only ``GET`` and ``HEAD``: the portal has no write endpoint of any kind, so every other method
  is refused (405) before Datasette sees it.
- With an access token, every request must carry it: ``Authorization: Bearer TOKEN`` (scripts,
  curl), or the cookie a browser receives by entering the token on ``/-/login``. Anything else is
  refused (401) with the login form. The cookie holds an HMAC of the token, never the token.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Awaitable, Callable, MutableMapping
from html import escape
from typing import Any
from urllib.parse import parse_qs

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

LOGIN = "/-/login"
COOKIE = "creditledger_portal"
MIN_TOKEN_LENGTH = 16
MAX_FORM_BYTES = 4096

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>门户登录 · Portal login</title></head>
<body><h1>学分银行 门户 · Credit bank portal</h1><p>{message}</p>
<form method="post" action="/-/login"><label>访问令牌 access token
<input type="password" name="token" autocomplete="current-password" autofocus></label>
<button type="submit">登录 Log in</button></form></body></html>"""


class Guard:
    """Wraps the Datasette app: read-only methods, and the access token when one is set."""

    def __init__(self, app: App, token: str | None) -> None:
        self.app = app
        self.token = token
        self._session = (hmac.new(token.encode(), b"creditledger portal session",
                                  hashlib.sha256).hexdigest() if token else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the server's lifespan messages
            await self.app(scope, receive, send)
            return
        if self.token and scope["path"] == LOGIN:
            await self._login(scope, receive, send)
        elif scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, b"read-only portal: only GET and HEAD\n",
                           [(b"allow", b"GET, HEAD")])
        elif self.token and not self._authorised(scope):
            await _respond(send, 401, _login_page("访问令牌 required: this portal needs its "
                                                  "access token."), html=True)
        else:
            await self.app(scope, receive, send)

    def _authorised(self, scope: Scope) -> bool:
        assert self.token is not None and self._session is not None
        headers = dict(scope["headers"])
        bearer = headers.get(b"authorization", b"").decode("latin-1")
        if bearer.startswith("Bearer ") and hmac.compare_digest(
                bearer[7:].encode(), self.token.encode()):
            return True
        return hmac.compare_digest(_cookie(headers, COOKIE).encode(), self._session.encode())

    async def _login(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.token is not None and self._session is not None
        if scope["method"] != "POST":
            await _respond(send, 200, _login_page("Enter the portal's access token."), html=True)
            return
        body = await _read_body(receive)
        given = parse_qs(body.decode("utf-8", "replace")).get("token", [""])[0]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            await _respond(send, 401, _login_page("Wrong token · 令牌错误."), html=True)
            return
        cookie = f"{COOKIE}={self._session}; Path=/; HttpOnly; SameSite=Strict"
        await _respond(send, 303, b"", [(b"location", b"/"), (b"set-cookie", cookie.encode())])


def _login_page(message: str) -> bytes:
    return LOGIN_PAGE.format(message=escape(message)).encode()


def _cookie(headers: dict[bytes, bytes], name: str) -> str:
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return ""


async def _read_body(receive: Receive) -> bytes:
    """The request's body, at most :data:`MAX_FORM_BYTES` of it (a login form is tiny)."""
    body = b""
    while len(body) <= MAX_FORM_BYTES:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return body[:MAX_FORM_BYTES]


async def _respond(send: Send, status: int, body: bytes,
                   headers: list[tuple[bytes, bytes]] | None = None, *, html: bool = False) -> None:
    kind = b"text/html; charset=utf-8" if html else b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", kind), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})
