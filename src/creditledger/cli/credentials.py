"""Electronic course certificates on the command line: ``verify-credential`` and
``export-credential`` (Open Badges 3.0, checked offline)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated
from uuid import UUID

import msgspec
import typer

from creditledger.audit.credential import (
    GivenKeys,
    VerifiedCredential,
    dumps,
    parse_credential,
    verify_credential,
)
from creditledger.cli.common import err, fail
from creditledger.crypto.keys import PublicKey
from creditledger.errors import CreditLedgerError, InvalidCredentialError, UnusableLedgerError
from creditledger.services import CreditBank


def register(app: typer.Typer) -> None:
    """Add ``verify-credential`` and ``export-credential`` to ``app``."""
    app.command("verify-credential")(verify_credential_command)
    app.command("export-credential")(export_credential_command)


def verify_credential_command(
    file: Annotated[Path, typer.Argument(help="The certificate (Open Badges 3.0 JSON).")],
    key: Annotated[list[Path] | None, typer.Option(
        "--key", help="Trust only this public key (PEM, base64 or hex file); repeat for "
        "the school's and the secretariat's.")] = None,
    ledger: Annotated[str | None, typer.Option(
        "--ledger", help="Check keys and revocation against this alliance ledger (a file or "
        "a postgresql:// URL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify an electronic course certificate (电子课程合格证书) offline: exit 0 valid,
    1 invalid (changed, wrong key, unsigned, revoked), 2 unusable input."""
    try:
        data = file.read_bytes()
        trusted = [_key_file(k) for k in key or []]
    except OSError as e:
        fail(f"{file}: {e.strerror}")
    except CreditLedgerError as e:
        fail(str(e))
    try:
        verified = check_file(data, trusted, ledger)
    except InvalidCredentialError as e:
        typer.echo(json.dumps({"valid": False, "reason": e.reason}, ensure_ascii=False)
                   if as_json else f"INVALID: {e.reason}")
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps({"valid": True, **msgspec.to_builtins(verified)},
                              ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(summary_lines(verified)))


def export_credential_command(
    ledger: Annotated[str, typer.Argument(
        metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
    certificate: Annotated[str, typer.Argument(help="The certificate id (UUID).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the credential here, not to stdout.")] = None,
) -> None:
    """Export a sealed course certificate as an Open Badges 3.0 credential (JCS JSON)."""
    try:
        certificate_id = UUID(certificate)
    except ValueError:
        fail(f"certificate: {certificate!r} is not a UUID")
    try:
        with CreditBank.open(ledger) as bank:
            data = dumps(bank.export_course_certificate(certificate_id))
    except CreditLedgerError as e:
        fail(str(e))
    if output is None:
        sys.stdout.buffer.write(data + b"\n")
    else:
        output.write_bytes(data)
        err.print(f"certificate {certificate_id} written to {output}")


def check_file(data: bytes, trusted: Sequence[PublicKey], ledger: str | Path | None
               ) -> VerifiedCredential:
    """What ``verify-credential`` checks: the given keys if any, and the ledger if given."""
    document = parse_credential(data)
    verified = verify_credential(document, trust=GivenKeys(trusted) if trusted else None)
    if ledger is None:
        return verified
    with CreditBank.open(ledger) as bank:
        against = bank.check_course_certificate(document)
    keys = against.keys + (f"; {verified.keys}" if trusted else "")
    result: VerifiedCredential = msgspec.structs.replace(against, keys=keys)
    return result


def summary_lines(v: VerifiedCredential) -> list[str]:
    """A verified certificate as readable lines (what ``verify-credential`` prints)."""
    lines = [f"valid: 电子课程合格证书 {v.course_name} ({v.course_code}), {v.credits} credits, "
             f"{v.hours} hours, score {v.score}, term {v.term}",
             f"  issued by {v.alliance}; assessed by {v.school}; learner {v.identity_hash}"]
    lines += [f"  proof {n}: {p.role}, key {p.key_id}, created {p.created}"
              for n, p in enumerate(v.proofs, 1)]
    return [*lines, f"  keys: {v.keys}", f"  revocation: {v.revocation}"]


def _key_file(path: Path) -> PublicKey:
    try:
        return PublicKey.from_text(path.read_bytes())
    except OSError as e:
        raise UnusableLedgerError(f"--key {path}: {e.strerror}") from None
    except UnusableLedgerError as e:
        raise UnusableLedgerError(f"--key {path}: {str(e).removeprefix('root key: ')}"
                                  ) from None
