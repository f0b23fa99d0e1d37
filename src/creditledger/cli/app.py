"""The ``creditledger`` command: one Typer app, one module per command group.

Every command is a thin shell over a documented library function. Exit codes follow the
auditor's convention: 0 intact / done, 1 the ledger (or document) fails verification, 2 unusable
input (no such file, not a ledger, a key that cannot be read, an unknown id, a refused command),
3 a credential intact but anchored by no trusted key — with one clear line on standard error and
never a traceback: :func:`main` catches whatever a command lets escape.
"""

from __future__ import annotations

import os
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from creditledger.cli import (
    audit,
    credentials,
    importing,
    keys,
    ledger,
    portal,
    privacy,
    records,
    school,
    transfers,
    views,
    witness,
)
from creditledger.cli.common import err, fail
from creditledger.errors import CreditLedgerError

HELP = """A signed, hash-linked credit bank (学分银行) ledger for a vocational school: every
achievement a signed entry, every credit traceable to it, the whole ledger checked offline with
one command. LEDGER is a ledger file or a postgresql:// URL; --key is always a PRIVATE key file
(encrypted PEM; its passphrase from $CREDITLEDGER_PASSPHRASE or a prompt), --root-key and
--public-key always PUBLIC ones. Exit codes: 0 done, 1 fails verification, 2 unusable input or a
refused command (one line on stderr).

Set up: init makes a new ledger and its root key; keygen makes an institution's or a staff
member's key; register-institution (root), add-staff-key and revoke-staff-key (an institution's
administrator); keys lists them.

Record (each one signed commit): define-programme, define-course, open-account, enrol; record
course-result | certificate | training | online-course; correct (a score, 成绩更正); revoke
(撤销); import (a CSV, Excel or JSON batch). Personal data: personal-data shows it (--kek, the
school's key-encryption key), erase erases it (PIPL Art. 47; docs/privacy.md).

Read (the ledger opened read-only; read models in LEDGER.views.db or --views, caught up first):
transcript, balances, history, stats, export, alliance-report, explain, views. Records print as
a table, or --format json or csv, or to -o FILE. serve: the same, as a read-only web portal.

Audit: verify (exit 0 intact, 1 tampered), head, checkpoint, consistency, verify-consistency,
prove and verify-bundle (Merkle proofs, offline transcript bundles), verifier-page (the same
checks, and certificates', in one offline HTML page), witness (cosign other schools'
checkpoints, C2SP tlog-witness), publish-tiles (the tree as static files), export-ledger (a
PostgreSQL ledger to one file).

Certificates: export-credential, verify-credential, status-list (Open Badges 3.0), export-clr
(CLR 2.0). Try it: demo plays a whole scenario into a new ledger. See docs/cli.md.
"""

ORDER = (
    "init", "keygen", "register-institution", "add-staff-key", "revoke-staff-key", "keys",
    "define-programme", "define-course", "open-account", "enrol", "personal-data", "erase",
    "record", "correct", "revoke",
    "import", "transcript", "balances", "history", "stats", "export", "alliance-report",
    "explain", "views", "serve", "verify", "head", "checkpoint", "consistency",
    "verify-consistency", "prove", "verify-bundle", "verifier-page", "witness", "publish-tiles",
    "export-ledger", "export-credential", "verify-credential", "status-list", "export-clr",
    "demo",
)
"""The order ``--help`` lists the commands in: a school's day, then the auditor's."""


class _Commands(TyperGroup):
    """The top-level group: its commands listed in :data:`ORDER` (any other last)."""

    def list_commands(self, ctx: Any) -> list[str]:  # Any: typer's own vendored click Context
        rank = {name: i for i, name in enumerate(ORDER)}
        return sorted(super().list_commands(ctx), key=lambda n: rank.get(n, len(rank)))


app = typer.Typer(
    name="creditledger",
    cls=_Commands,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's help: flags shown as flags, paragraphs as written
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        try:
            typer.echo(f"creditledger {version('creditledger')}")
        except PackageNotFoundError:  # pragma: no cover - run from a source tree
            typer.echo("creditledger (not installed)")
        raise typer.Exit()


@app.callback()
def _top(
    show_version: Annotated[bool, typer.Option(
        "--version", is_eager=True, callback=_version, help="Print the version and exit.")
    ] = False,
) -> None:
    """The top-level options (the help is :data:`HELP`)."""


for group in (school, privacy, keys, records, importing, views, portal, transfers, ledger, audit,
              witness, credentials):
    group.register(app)


def main() -> None:
    """Entry point of the ``creditledger`` command: no traceback reaches the user (set
    ``CREDITLEDGER_DEBUG=1`` to see one)."""
    try:
        app()
    except CreditLedgerError as e:  # a command that forgot to catch its own
        _escaped(e, str(e))
    except KeyboardInterrupt:
        err.print("interrupted")
        raise SystemExit(130) from None
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as Python advises
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as e:
        _escaped(e, f"unexpected {type(e).__name__}: {e}")


def _escaped(error: Exception, message: str) -> None:
    """One line on stderr and exit 2, for an error no command caught."""
    if os.environ.get("CREDITLEDGER_DEBUG"):
        raise error
    try:
        fail(message)
    except typer.Exit as done:
        raise SystemExit(done.exit_code) from None
