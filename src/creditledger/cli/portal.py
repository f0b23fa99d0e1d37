"""``creditledger serve``: the registrar's read-only portal (门户管理) on Datasette."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from creditledger.cli.common import LedgerArgument, ViewsOption, done, fail, open_views, reading
from creditledger.errors import CreditLedgerError, ValidationError


def register(app: typer.Typer) -> None:
    """Add ``serve`` to ``app``."""
    app.command("serve")(serve)


def serve(
    ledger: LedgerArgument,
    views: ViewsOption = None,
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS", help="Listen on this address (default loopback only; any "
        "other needs an access token).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(
        "--port", metavar="N", help="Listen on this port (0: any free one, printed).")] = 8001,
    token: Annotated[str | None, typer.Option(
        "--token", metavar="T", help="Require this access token (16 characters or more); "
        "prefer --token-env, which keeps it out of the process list.")] = None,
    token_env: Annotated[str | None, typer.Option(
        "--token-env", metavar="NAME", help="Require the access token held by the environment "
        "variable NAME.")] = None,
) -> None:
    """Serve the read models as a read-only web portal for registrars (学分查询 · 统计): tables
    with facets, canned queries, CSV/JSON downloads and charts, with Datasette. The views are
    caught up first and followed while serving; no personal field is shown. Ctrl-C stops it."""
    from creditledger.portal import Portal, build_app

    try:
        secret = _token(token, token_env)
        with reading(ledger) as bank:
            portal = Portal(lambda: open_views(bank, views), host=host, port=port,
                            token=secret)
            path, position, withheld = portal.prepare()
            sock = portal.bind()
            bound = sock.getsockname()[1]
            where = f"[{host}]" if ":" in host else host
            if withheld:
                done(f"withheld for personal columns: {', '.join(sorted(withheld))} (served as "
                     f"{', '.join(sorted(withheld.values()))})")
            done(f"serving {path} (caught up to event {position}, followed) read-only at "
                 f"http://{where}:{bound}/" + (" (access token required)" if secret else ""))
            portal.serve(build_app(path, withheld, secret), sock)
    except CreditLedgerError as e:
        fail(str(e))


def _token(token: str | None, token_env: str | None) -> str | None:
    if token is not None and token_env is not None:
        raise ValidationError("token", "give --token or --token-env, not both")
    if token_env is None:
        return token
    value = os.environ.get(token_env)
    if not value:
        raise ValidationError("token", f"the environment variable {token_env} holds no token")
    return value
