"""``creditledger explain``: where a learner's converted credits or exemption came from (溯源)."""

from __future__ import annotations

import json
from typing import Annotated

import msgspec
import typer

from creditledger.cli.common import LedgerArgument, fail
from creditledger.domain.transfers.lineage import Lineage
from creditledger.errors import CreditLedgerError
from creditledger.services import CreditBank


def register(app: typer.Typer) -> None:
    """Add ``explain`` to ``app``."""
    app.command()(explain)


def explain(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    account: Annotated[str | None, typer.Option(
        "--account", help="An account: requirement/<inst>/<prog>/<kind>/<code>, "
        "achievement/<uuid> or conversion-loss.")] = None,
    exemption: Annotated[str | None, typer.Option(
        "--exemption", help="The code of an exempt course or module.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the lineage as JSON.")] = False,
) -> None:
    """Explain where a learner's converted credits or exemption came from (溯源)."""
    try:
        with CreditBank.open(ledger) as bank:
            lineage = bank.explain(learner, account=account, exemption=exemption)
    except CreditLedgerError as e:
        fail(str(e))
    if as_json:
        data = json.loads(msgspec.json.encode(lineage))
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(lineage_lines(lineage)))


def lineage_lines(lineage: Lineage) -> list[str]:
    """A lineage as readable lines (what ``creditledger explain`` prints)."""
    held = lineage.exemption
    lines = [f"{lineage.account}: {lineage.balance} credits posted, {lineage.pending} pending"
             + (f"; exempts {held.target.label()} (免修)" if held else "")]
    for c in lineage.conversions:
        via = f", agreement {c.agreement.code} v{c.agreement.version}" if c.agreement else ""
        lines.append(f"  {c.amount:>7} conversion {c.conversion_id} on {c.on} [{c.status.value}]"
                     f" rule {c.rule.rule_id} v{c.rule.version} ({c.rule_kind.zh}){via}")
        for t in c.transfers:
            lines.append(f"          {t.kind.value:<19} {t.amount:>6} {t.debit_account} -> "
                         f"{t.credit_account}")
        for s in c.sources:
            where = ", ".join(f"#{e.position} (commit {e.commit_seq}, {e.signer})"
                              for e in s.events)
            mark = " REVOKED" if s.revoked else ""
            lines.append(f"          source {s.facts.title} {s.facts.credits} credits"
                         f"{mark}: events {where}")
    return lines
