"""Refuse requests whose Host header is not this server's: a web page cannot reach it by DNS rebinding.

A page on `evil.example` that re-points its name at 127.0.0.1 makes the browser send `Host: evil.example`
to the local server; no legitimate client does. Allowed: IP addresses (rebinding always comes with a
name), `localhost` and its subdomains, this machine's host names, the name `--host` gave and any
`--allow-host` names.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send


def machine_names(listen_host: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a server listening on `listen_host` answers to, besides IP addresses and localhost."""
    names = {listen_host, socket.gethostname(), socket.getfqdn(), *extra}
    return frozenset(name.lower().rstrip(".") for name in names if name)


def _host_name(header: str) -> str:
    """`name`, `name:port`, `[v6]:port` or `v6` -> the name or address alone, lower-case."""
    host = header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        host = host.partition(":")[0]
    return host.rstrip(".")


def allowed(header: str, names: frozenset[str]) -> bool:
    host = _host_name(header)
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        return host == "localhost" or host.endswith(".localhost") or host in names


class HostGuard:
    """ASGI middleware: a 403 with an AWS error body for a Host that is not this server's."""

    def __init__(self, app: ASGIApp, names: frozenset[str] = frozenset()) -> None:
        self.app, self.names = app, names

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
        if allowed(header, self.names):
            await self.app(scope, receive, send)
            return
        body = json.dumps(
            {
                "__type": "AccessDeniedException",
                "message": f"Host '{header}' is not this roost server's: use its address or localhost, "
                "or start the server with --allow-host NAME",
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/x-amz-json-1.1"),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
