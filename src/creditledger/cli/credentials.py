"""Electronic course certificates on the command line: ``verify-credential``,
``export-credential`` and ``status-list`` (Open Badges 3.0, checked offline)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
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
from creditledger.cli.common import (
    PASSPHRASE_ENV,
    KekOption,
    PassphraseEnvOption,
    err,
    fail,
    key_option,
    open_bank,
    public_key,
    reading,
    signing_key,
    write_output,
)
from creditledger.cli.output import FormatOption, JsonOption, chosen, emit_report
from creditledger.crypto.keys import PublicKey
from creditledger.errors import CreditLedgerError, InvalidCredentialError, UnusableLedgerError


def register(app: typer.Typer) -> None:
    """Add ``verify-credential`` and ``export-credential`` to ``app``."""
    app.command("verify-credential")(verify_credential_command)
    app.command("export-credential")(export_credential_command)
    app.command("status-list")(status_list_command)
    app.command("export-clr")(export_clr_command)


def verify_credential_command(
    file: Annotated[Path, typer.Argument(metavar="FILE",
                                         help="The certificate (Open Badges 3.0 JSON).")],
    school_key: Annotated[Path | None, typer.Option(
        "--school-key", metavar="KEY.pub", help="The offering school's PUBLIC key (PEM, base64 "
        "or hex file): its proof must be made with this key.")] = None,
    secretariat_key: Annotated[Path | None, typer.Option(
        "--secretariat-key", metavar="KEY.pub", help="The alliance secretariat's PUBLIC key: "
        "the seal must be made with this key.")] = None,
    ledger: Annotated[str | None, typer.Option(
        "--ledger", metavar="LEDGER", help="Check keys and revocation against this alliance "
        "ledger (a file or a postgresql:// URL), opened read-only.")] = None,
    status_list: Annotated[list[Path] | None, typer.Option(
        "--status-list", metavar="FILE", help="A revocation list (BitstringStatusListCredential) "
        "of the certificate's issuer: check the certificate's bit in it (repeatable).")] = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Verify an electronic course certificate (电子课程合格证书) offline: exit 0 valid (every
    proof made with a trusted key: the ledger's, or both keys given), 1 invalid (changed, wrong
    key, unsigned, revoked), 2 unusable input, 3 unanchored (the signatures hold, but no trusted
    key says who made them)."""
    shape = chosen(fmt, as_json)
    try:
        data = file.read_bytes()
        given = RoleKeys(school=_key_file(school_key, "--school-key"),
                         secretariat=_key_file(secretariat_key, "--secretariat-key"))
        trust: KeyTrust = given if school_key or secretariat_key else EmbeddedKeys()
        lists = _status_lists(status_list or [])
    except OSError as e:
        fail(f"{file}: {e.strerror}")
    except CreditLedgerError as e:
        fail(str(e))
    try:
        verified = check_file(data, trust, ledger, lists)
    except InvalidCredentialError as e:
        reason = e.reason
        emit_report({"valid": False, "reason": reason}, shape, lambda: [f"INVALID: {reason}"])
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    emit_report({"valid": verified.anchored, **msgspec.to_builtins(verified)}, shape,
                lambda: summary_lines(verified))
    if not verified.anchored:
        raise typer.Exit(UNANCHORED)


UNANCHORED = 3
"""Exit code of ``verify-credential`` when the signatures hold but no trusted key anchors them."""


def export_credential_command(
    ledger: Annotated[str, typer.Argument(
        metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
    certificate: Annotated[str, typer.Argument(metavar="CERTIFICATE_ID",
                                               help="The certificate id (UUID).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the credential here, not to stdout.")
    ] = None,
) -> None:
    """Export a sealed course certificate as an Open Badges 3.0 credential (JCS JSON)."""
    try:
        certificate_id = UUID(certificate)
    except ValueError:
        fail(f"certificate: {certificate!r} is not a UUID")
    try:
        with reading(ledger) as bank:
            data = dumps(bank.export_course_certificate(certificate_id))
    except CreditLedgerError as e:
        fail(str(e))
    write_output(data if output else data + b"\n", output, f"certificate {certificate_id}")


def status_list_command(
    ledger: Annotated[str, typer.Argument(
        metavar="LEDGER", help="The alliance ledger: a file or a postgresql:// URL.")],
    key: Annotated[Path, key_option("The key that signed the certificates (it signs their "
                                    "revocation lists too)")],
    output: Annotated[Path, typer.Option(
        "-o", "--output", metavar="DIR", help="The folder to write the lists to (one UUID.json "
        "per list).")] = Path("."),
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Write the revocation lists (W3C Bitstring Status List) of the certificates a key
    signed, signed by it, from the ledger: publish them where the certificates'
    statusListCredential says, and again after every revocation."""
    try:
        signer = signing_key(key, passphrase_env)
        with reading(ledger) as bank:
            lists = bank.status_lists(signer)
        output.mkdir(parents=True, exist_ok=True)
        for document in lists:
            path = output / f"{str(document['id']).rpartition('/')[2]}.json"
            path.write_bytes(dumps(document) + b"\n")
            err.print(f"status list {document['id']} written to {path}")
    except CreditLedgerError as e:  # first: NotAuthorisedError is a PermissionError (OSError)
        fail(str(e))
    except OSError as e:
        fail(f"{output}: {e.strerror}")
    if not lists:
        err.print(f"key {signer.key_id} signed no certificate: no status list to write")


def export_clr_command(
    ledger: Annotated[str, typer.Argument(
        metavar="LEDGER", help="The credit bank ledger: a file or a postgresql:// URL.")],
    learner: Annotated[str, typer.Option("--learner", metavar="ID", help="The learner's id.")],
    key: Annotated[Path, key_option("A key of the learner's home school (it signs the CLR "
                                    "and every credential in it)")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the CLR here, not to stdout.")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    include_personal_data: Annotated[bool, typer.Option(
        "--include-personal-data", help="Name the learner by name, not only by id (needs the "
        "key-encryption key: --kek; refused once erased).")] = False,
    kek: KekOption = None,
) -> None:
    """Export a learner's whole record (成绩单) as a 1EdTech CLR 2.0 credential (JCS JSON): their
    achievements in force, converted credits and exemptions with their lineage, signed by their
    home school. The learner is named by id only, unless --include-personal-data."""
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger, read_only=True, kek=kek, personal=include_personal_data) as bank:
            data = dumps(bank.export_clr(learner, signer=signer,
                                         include_personal_data=include_personal_data))
    except CreditLedgerError as e:  # before OSError: NotAuthorisedError is a PermissionError
        fail(str(e))
    except OSError as e:
        fail(f"{ledger}: {e.strerror}")
    write_output(data if output else data + b"\n", output, f"the record of {learner}")


def check_file(data: bytes, trust: KeyTrust, ledger: str | Path | None,
               lists: dict[str, dict[str, Any]] | None = None) -> VerifiedCredential:
    """What ``verify-credential`` checks: the given role keys and status lists, and the ledger
    if given."""
    document = parse_credential(data)
    verified = verify_credential(document, trust=trust, status_lists=lists or None)
    if ledger is None:
        return verified
    with reading(str(ledger)) as bank:
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
             f"  issued by {v.school}, sealed by {v.alliance}; learner {v.identity_hash}"]
    lines += [f"  proof {n}: {p.role}, {p.cryptosuite}, key {p.key_id}, created {p.created}"
              for n, p in enumerate(v.proofs, 1)]
    lines += [f"  check {c.name}: {c.result}" for c in v.checks]
    return [*lines, f"  keys: {v.keys}", f"  revocation: {v.revocation}"]


def _status_lists(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """The status list files given, by their id (unusable input if one is not one)."""
    lists: dict[str, dict[str, Any]] = {}
    for path in paths:
        try:
            document = parse_credential(path.read_bytes())
        except OSError as e:
            raise UnusableLedgerError(f"--status-list {path}: {e.strerror}") from None
        except InvalidCredentialError as e:
            raise UnusableLedgerError(f"--status-list {path}: {e.reason}") from None
        if not isinstance(document.get("id"), str):
            raise UnusableLedgerError(f"--status-list {path}: not a status list (no id)")
        lists[document["id"]] = document
    return lists


def _key_file(path: Path | None, option: str) -> PublicKey | None:
    return None if path is None else public_key(path, option)
