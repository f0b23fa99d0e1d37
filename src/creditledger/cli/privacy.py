"""Learners' personal data (个人信息): ``personal-data`` shows it (only when asked, with the
school's key-encryption key), ``erase`` erases it (删除, PIPL Art. 47: crypto-shredding).
See ``docs/privacy.md``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    KekOption,
    LedgerArgument,
    PassphraseEnvOption,
    done,
    fail,
    key_option,
    open_bank,
    out,
    shown,
    signing_key,
)
from creditledger.errors import CreditLedgerError

LearnerOption = Annotated[str, typer.Option("--learner", metavar="ID", help="The learner's id.")]


def register(app: typer.Typer) -> None:
    """Add the personal-data commands to ``app``."""
    app.command("personal-data")(personal_data)
    app.command()(erase)


def personal_data(
    ledger: LedgerArgument,
    learner: LearnerOption,
    kek: KekOption = None,
) -> None:
    """Show a learner's personal data (name, ID document, contact), opened with the school's
    key-encryption key; refused once erased. Prints JSON."""
    try:
        with open_bank(ledger, read_only=True, kek=kek, personal=True) as bank:
            person = bank.personal_data(learner)
    except CreditLedgerError as e:
        fail(str(e))
    out.print(json.dumps({"learner_id": learner, "name": person.name,
                          "id_document_type": person.id_document_type,
                          "id_document_number": person.id_document_number,
                          "contact": person.contact}, ensure_ascii=False), markup=False)


def erase(
    ledger: LedgerArgument,
    key: Annotated[Path, key_option("A registrar's (or the administrator's) key of the "
                                    "learner's home school")],
    learner: LearnerOption,
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT",
                                        help="Why (e.g. consent withdrawn; no personal data).")],
    legal_basis: Annotated[str, typer.Option(
        "--legal-basis", metavar="TEXT", help="Under which rule, e.g. 'PIPL Art. 47'.")],
    kek: KekOption = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Erase a learner's personal data: a signed receipt in the ledger, then the learner's
    data key destroyed and the key store scrubbed. Credits, achievements and the chain stay
    and verify. Running it again changes nothing and shows the same receipt."""
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger, kek=kek) as bank:
            receipt = bank.erase_personal_data(learner, reason=reason, legal_basis=legal_basis,
                                               signer=signer)
    except CreditLedgerError as e:
        fail(str(e))
    by = receipt.erased_by + (f" ({receipt.staff_id})" if receipt.staff_id else "")
    done(f"erased the personal data of {shown(receipt.learner_id)}: receipt at position "
         f"{receipt.position} (commit {receipt.commit_seq}), {receipt.erased_at.isoformat()}, "
         f"by {shown(by)} under {shown(receipt.legal_basis)}; key signed {receipt.key_id}")
