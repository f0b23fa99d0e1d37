"""Electronic course certificates on the command line: ``verify-credential`` and
``export-credential`` (Open Badges 3.0, checked offline)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated
from uuid import UUID

import msgspec
import typer

from creditledger.audit.credential import (
    EmbeddedKeys,
    KeyTrust,
    RoleKeys,
    VerifiedCredential,
    dumps,
    parse_credential,
    verify_credential,
)
from creditledger.cli.common import err, fail, shown
from creditledger.crypto.keys import PublicKey
from creditledger.errors import CreditLedgerError, InvalidCredentialError, UnusableLedgerError
from creditledger.services import CreditBank


def register(app: typer.Typer) -> None:
    """Add ``verify-credential`` and ``export-credential`` to ``app``."""
    app.command("verify-credential")(verify_credential_command)
    app.command("export-credential")(export_credential_command)


def verify_credential_command(
    file: Annotated[Path, typer.Argument(help="The certificate (Open Badges 3.0 JSON).")],
    school_key: Annotated[Path | None, typer.Option(
        "--school-key", help="The offering school's public key (PEM, base64 or hex file): its "
        "proof must be made with this key.")] = None,
    secretariat_key: Annotated[Path | None, typer.Option(
        "--secretariat-key", help="The alliance secretariat's public key: the seal must be "
        "made with this key.")] = None,
    ledger: Annotated[str | None, typer.Option(
        "--ledger", help="Check keys and revocation against this alliance ledger (a file or "
        "a postgresql:// URL).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Verify an electronic course certificate (电子课程合格证书) offline: exit 0 valid (every
    proof made with a trusted key: the ledger's, or both keys given), 1 invalid (changed, wrong
    key, unsigned, revoked), 2 unusable input, 3 unanchored (the signatures hold, but no trusted
    key says who made them)."""
    try:
        data = file.read_bytes()
        given = RoleKeys(school=_key_file(school_key, "--school-key"),
                         secretariat=_key_file(secretariat_key, "--secretariat-key"))
        trust: KeyTrust = given if school_key or secretariat_key else EmbeddedKeys()
    except OSError as e:
        fail(f"{file}: {e.strerror}")
    except CreditLedgerError as e:
        fail(str(e))
    try:
        verified = check_file(data, trust, ledger)
    except InvalidCredentialError as e:
        typer.echo(json.dumps({"valid": False, "reason": e.reason}, ensure_ascii=False)
                   if as_json else shown(f"INVALID: {e.reason}"))
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    if as_json:
        typer.echo(json.dumps({"valid": verified.anchored, **msgspec.to_builtins(verified)},
                              ensure_ascii=False, indent=2))
    else:
        typer.echo("\n".join(shown(line) for line in summary_lines(verified)))
    if not verified.anchored:
        raise typer.Exit(UNANCHORED)


UNANCHORED = 3
"""Exit code of ``verify-credential`` when the signatures hold but no trusted key anchors them."""


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


def check_file(data: bytes, trust: KeyTrust, ledger: str | Path | None) -> VerifiedCredential:
    """What ``verify-credential`` checks: the given role keys, and the ledger if given."""
    document = parse_credential(data)
    verified = verify_credential(document, trust=trust)
    if ledger is None:
        return verified
    with CreditBank.open(ledger) as bank:
        against = bank.check_course_certificate(document)
    keys = against.keys + (f"; {verified.keys}" if trust.anchored else "")
    result: VerifiedCredential = msgspec.structs.replace(against, keys=keys)
    return result


def summary_lines(v: VerifiedCredential) -> list[str]:
    """A verified certificate as readable lines (what ``verify-credential`` prints)."""
    verdict = "valid" if v.anchored else "UNANCHORED (intact, but not shown to be issued by " \
        "anyone: give --ledger, or --school-key and --secretariat-key)"
    lines = [f"{verdict}: 电子课程合格证书 {v.course_name} ({v.course_code}), {v.credits} credits, "
             f"{v.hours} hours, score {v.score}, term {v.term}",
             f"  issued by {v.alliance}; assessed by {v.school}; learner {v.identity_hash}"]
    lines += [f"  proof {n}: {p.role}, key {p.key_id}, created {p.created}"
              for n, p in enumerate(v.proofs, 1)]
    return [*lines, f"  keys: {v.keys}", f"  revocation: {v.revocation}"]


def _key_file(path: Path | None, option: str) -> PublicKey | None:
    if path is None:
        return None
    try:
        return PublicKey.from_text(path.read_bytes())
    except OSError as e:
        raise UnusableLedgerError(f"{option} {path}: {e.strerror}") from None
    except UnusableLedgerError as e:
        raise UnusableLedgerError(f"{option} {path}: {str(e).removeprefix('root key: ')}"
                                  ) from None
