"""``creditledger explain``: where a learner's converted credits or exemption came from (溯源)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer

from creditledger.cli.common import LedgerArgument, fail, reading
from creditledger.cli.output import FormatOption, JsonOption, chosen, emit_report
from creditledger.domain.transfers.lineage import Lineage
from creditledger.errors import CreditLedgerError


def register(app: typer.Typer) -> None:
    """Add ``explain`` to ``app``."""
    app.command()(explain)


def explain(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", metavar="ID", help="The learner id.")],
    account: Annotated[str | None, typer.Option(
        "--account", metavar="ACCOUNT", help="An account: requirement/<inst>/<prog>/<kind>/"
        "<code>, achievement/<uuid> or conversion-loss.")] = None,
    exemption: Annotated[str | None, typer.Option(
        "--exemption", metavar="CODE", help="The code of an exempt course or module.")] = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Explain where a learner's converted credits or exemption came from (溯源): the lineage
    as lines (table), one JSON object, or one CSV row per conversion."""
    try:
        with reading(ledger) as bank:
            lineage = bank.explain(learner, account=account, exemption=exemption)
    except CreditLedgerError as e:
        fail(str(e))
    data = msgspec.to_builtins(lineage)
    emit_report(data, chosen(fmt, as_json), lambda: lineage_lines(lineage),
                lambda: lineage_rows(lineage))


def lineage_rows(lineage: Lineage) -> list[dict[str, Any]]:
    """A lineage as records: one per conversion, with its rule, agreement and sources."""
    return [{"learner_id": lineage.learner_id, "account": lineage.account,
             "conversion_id": str(c.conversion_id), "on": c.on.isoformat(),
             "status": c.status.value, "amount": str(c.amount), "pending": str(c.pending),
             "rule": f"{c.rule.rule_id} v{c.rule.version}", "rule_kind": c.rule_kind.value,
             "agreement": f"{c.agreement.code} v{c.agreement.version}" if c.agreement else "",
             "sources": ";".join(s.facts.title for s in c.sources),
             "source_positions": ";".join(str(e.position) for s in c.sources
                                          for e in s.events)}
            for c in lineage.conversions]


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
