"""Serving the portal: Datasette over the views database opened read-only, behind the access
guard, with the views caught up on start and followed while serving."""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from creditledger.errors import CreditLedgerError, UnusableLedgerError, ValidationError
from creditledger.portal import plugin
from creditledger.portal.access import MIN_TOKEN_LENGTH, App, Guard
from creditledger.portal.metadata import DATABASE, SETTINGS, portal_metadata
from creditledger.portal.privacy import publish_public_views
from creditledger.projections import Projector

FOLLOW_POLL = 1.0
"""Seconds between two looks at a SQLite ledger for new commits (PostgreSQL announces them)."""
RETRY = 5.0
"""Seconds before following again after the ledger became unavailable."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` only listens on this machine (``localhost`` or a loopback address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to any interface


def check_exposure(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without an access token, or with a guessable one."""
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise ValidationError("token", f"an access token needs at least {MIN_TOKEN_LENGTH} "
                                       "characters")
    if token is None and not is_loopback(host):
        raise ValidationError("host", f"serving on {host} (beyond this machine) needs an "
                                      "access token: give --token-env NAME (or --token)")


def _read_only_database(datasette: object, path: Path) -> object:
    """A Datasette database whose every connection, the write one included, is read-only."""
    from datasette.database import Database

    class ReadOnlyDatabase(Database):  # type: ignore[misc]
        def connect(self, write: bool = False) -> object:
            import sqlite3

            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
            conn.execute("PRAGMA query_only=1")
            self._all_file_connections.append(conn)
            return conn

    return ReadOnlyDatabase(datasette, str(path), is_mutable=True)


def build_app(views: Path, withheld: dict[str, str], token: str | None) -> App:
    """The portal's ASGI app: Datasette over ``views`` (read-only), behind the guard."""
    from datasette.app import Datasette
    from datasette.plugins import pm

    if not pm.is_registered(plugin):
        pm.register(plugin, name="creditledger-portal")
    datasette = Datasette(metadata=portal_metadata(withheld), settings=SETTINGS)
    datasette.add_database(_read_only_database(datasette, views), name=DATABASE)
    return Guard(datasette.app(), token)


class Portal:
    """The registrar's portal for one ledger's read models.

    ``open_projector`` opens the ledger's views (a new :class:`Projector` each call: one serves
    the start, one the background follow, each in its own thread).
    """

    def __init__(self, open_projector: Callable[[], Projector], *, host: str, port: int,
                 token: str | None) -> None:
        check_exposure(host, token)
        self.open_projector = open_projector
        self.host, self.port, self.token = host, port, token
        self._stop = threading.Event()

    def prepare(self) -> tuple[Path, int, dict[str, str]]:
        """Catch the views up with the ledger and publish the public views; return the views
        file, the position reached and the withheld tables."""
        projector = self.open_projector()
        try:
            projector.catch_up()
            withheld = publish_public_views(projector.db)
            path = Path(projector.db.conn.execute("PRAGMA database_list").fetchone()[2])
            return path, projector.position(), withheld
        finally:
            projector.close()

    def bind(self) -> socket.socket:
        """The listening socket (a port already taken is a one-line error, not a traceback)."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except (OSError, OverflowError) as e:
            sock.close()
            raise UnusableLedgerError(f"cannot listen on {self.host}:{self.port}: "
                                      f"{getattr(e, 'strerror', None) or e}") from None
        sock.listen(128)
        return sock

    def serve(self, app: App, sock: socket.socket) -> None:
        """Serve until interrupted (Ctrl-C or SIGTERM), following the ledger meanwhile."""
        import uvicorn

        follower = threading.Thread(target=self._follow, name="views-follow", daemon=True)
        follower.start()
        try:
            server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
            server.run(sockets=[sock])
        finally:
            self._stop.set()
            follower.join(timeout=10)

    def _follow(self) -> None:
        """Keep the views up to date until the server stops; an unavailable ledger is said on
        stderr and followed again a little later."""
        while not self._stop.is_set():
            try:
                projector = self.open_projector()
                try:
                    projector.follow(self._stop, poll=FOLLOW_POLL)
                finally:
                    projector.close()
            except Exception as e:  # the portal keeps serving the views as they are
                what = str(e) if isinstance(e, CreditLedgerError) else f"{type(e).__name__}: {e}"
                print(f"warning: following the ledger: {what} (trying again in {RETRY:g}s)",
                      file=sys.stderr, flush=True)
                self._stop.wait(RETRY)
