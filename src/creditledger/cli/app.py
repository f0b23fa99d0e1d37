"""The ``creditledger`` command: one Typer app, one module per command group.

Every command is a thin shell over a documented library function. Exit codes follow the
auditor's convention: 0 intact / done, 1 the ledger (or document) fails verification, 2 unusable
input (no such file, not a ledger, a key that cannot be read), with one clear line on standard
error and no traceback.
"""

from __future__ import annotations

import typer

from creditledger.cli import audit, credentials, importing, keys, ledger, transfers, views
from creditledger.cli.common import fail
from creditledger.errors import UnusableLedgerError

app = typer.Typer(
    name="creditledger",
    help="A signed, hash-linked credit bank (学分银行) ledger: demo, verify, head.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for group in (ledger, keys, views, importing, transfers, audit, credentials):
    group.register(app)


def main() -> None:
    """Entry point of the ``creditledger`` command."""
    try:
        app()
    except UnusableLedgerError as e:  # pragma: no cover - commands catch their own errors
        fail(str(e))
