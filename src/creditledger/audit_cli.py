"""The auditor toolkit's commands: ``checkpoint``, ``consistency``, ``verify-consistency``,
``prove`` and ``verify-bundle``.

:func:`register_cli` adds them to the ``creditledger`` Typer app; ``python -m
creditledger.audit_cli`` runs them alone. Exit codes are those of ``creditledger verify``: 0 done
or intact, 1 fails verification, 2 unusable input (one ``error:`` line on standard error).
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console

from creditledger.cli_util import fail, read_passphrase
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import CreditLedgerError, UnusableLedgerError

PASSPHRASE_ENV = "CREDITLEDGER_PASSPHRASE"
_out = Console(highlight=False, soft_wrap=True)
_err = Console(stderr=True, highlight=False, soft_wrap=True)

LedgerArgument = Annotated[str, typer.Argument(
    metavar="LEDGER", help="The ledger file, or postgresql://USER:PW@HOST:PORT/DB?schema=S.")]
"""A ledger file or URL: a plain string, since a path would fold a URL's ``//``."""

RootKeyOption = Annotated[
    Path | None,
    typer.Option("--root-key", help="Pin the ledger's root public key (PEM, base64 or hex file)."),
]


_fail = fail


def _tampered(message: str) -> NoReturn:
    _out.print(f"[bold red]TAMPERED[/]: {message}")
    raise typer.Exit(1)


def _write(text: bytes, output: Path | None, what: str) -> None:
    if output is None:
        sys.stdout.buffer.write(text)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(text)
    except OSError as e:
        _fail(f"cannot write {output}: {e.strerror}")
    _err.print(f"{what} written to {output}")


def _read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise UnusableLedgerError(f"{what} {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise UnusableLedgerError(f"{what} {path}: not UTF-8 text") from e


def _pin(root_key: Path | None) -> PublicKey | None:
    return PublicKey.from_file(root_key) if root_key is not None else None


def _trust(pinned: bool) -> str:
    if pinned:
        return "pinned"
    return "named by the file itself, NOT pinned: pass --root-key to check it is the ledger's"


def register_cli(app: typer.Typer) -> None:
    """Add the auditor toolkit's commands to ``app``."""
    app.command("checkpoint")(checkpoint_command)
    app.command("consistency")(consistency_command)
    app.command("verify-consistency")(verify_consistency_command)
    app.command("prove")(prove_command)
    app.command("verify-bundle")(verify_bundle_command)


def checkpoint_command(
    ledger: LedgerArgument,
    key: Annotated[list[Path], typer.Option(
        "--key", help="The root key (encrypted PKCS#8 PEM); repeat to add more signatures "
        "(e.g. a new key during rotation). The first must be the ledger's root key.")],
    passphrase_env: Annotated[list[str] | None, typer.Option(
        "--passphrase-env", help="Environment variable with a key's passphrase, one per --key "
        f"in order (default {PASSPHRASE_ENV}).")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the checkpoint here, not to stdout.")] = None,
    no_verify: Annotated[bool, typer.Option(
        "--no-verify", help="Trust the stored tree: skip verifying the whole ledger.")] = False,
) -> None:
    """Sign a C2SP checkpoint of the ledger's Merkle tree and record it in the ledger."""
    from creditledger.merkle_recorder import CorruptTreeError
    from creditledger.tlog import InconsistentLedgerError, publish_checkpoint
    from creditledger.verify import TamperedLedgerError

    envs = passphrase_env or [PASSPHRASE_ENV]
    try:
        keys = [SigningKey.load(path, read_passphrase(envs[min(i, len(envs) - 1)]))
                for i, path in enumerate(key)]
        recorded = publish_checkpoint(ledger, keys, verify=not no_verify)
    except (TamperedLedgerError, CorruptTreeError, InconsistentLedgerError) as e:
        _fail(f"refusing to sign a checkpoint: {e}", 1)
    except CreditLedgerError as e:
        _fail(str(e))
    _write(recorded.note.encode("utf-8"), output,
           f"checkpoint of {recorded.size} events (recorded as event {recorded.position})")


def _note_argument(ledger: str, value: str) -> str:
    """A checkpoint given as a file, or as the size of a checkpoint recorded in the ledger."""
    path = Path(value)
    if path.exists() or not value.isdigit():
        return _read_text(path, "checkpoint")
    from creditledger.readers import open_reader
    from creditledger.tlog import recorded_checkpoints

    with open_reader(ledger) as reader, reader.translate_errors():
        recorded = recorded_checkpoints(reader, reader.ledger_id())
    found = [c for c in recorded if c.size == int(value)]
    if not found:
        raise UnusableLedgerError(f"no file {value} and no recorded checkpoint of size {value}")
    return found[-1].note


def consistency_command(
    ledger: LedgerArgument,
    old: Annotated[str, typer.Argument(
        help="The older checkpoint: a file, or the size of a checkpoint recorded in the ledger.")],
    new: Annotated[str, typer.Argument(help="The newer checkpoint (the same forms).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the proof here, not to stdout.")] = None,
) -> None:
    """Prove that the ledger at checkpoint OLD is a prefix of the ledger at NEW."""
    from creditledger.tlog import InconsistentLedgerError, prove_consistency

    try:
        result = prove_consistency(ledger, _note_argument(ledger, old),
                                   _note_argument(ledger, new))
    except InconsistentLedgerError as e:
        _tampered(str(e))
    except CreditLedgerError as e:
        _fail(str(e))
    _write(result.to_json(), output, f"consistency proof ({len(result.proof)} hashes)")


def verify_consistency_command(
    proof: Annotated[Path, typer.Argument(help="A consistency proof file.")],
    root_key: RootKeyOption = None,
) -> None:
    """Check a consistency proof offline: both checkpoints' signatures and the proof."""
    from creditledger.tlog import ConsistencyFile, InconsistentLedgerError, verify_consistency_file

    try:
        pinned = _pin(root_key)
        try:
            data = proof.read_bytes()
        except OSError as e:
            raise UnusableLedgerError(f"consistency proof {proof}: {e.strerror}") from e
        report = verify_consistency_file(ConsistencyFile.from_json(data), pinned)
    except InconsistentLedgerError as e:
        _tampered(str(e))
    except CreditLedgerError as e:
        _fail(str(e))
    _out.print(f"[bold green]consistent[/]: ledger {report.ledger_id} at {report.old_size} "
               f"events is a prefix of the ledger at {report.new_size} events; root key "
               f"{report.root_key_id} ({_trust(report.root_key_pinned)})")


def prove_command(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", help="The learner id.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write the bundle here, not to stdout.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", help="Prove against this checkpoint (default: the last recorded).")]
    = None,
) -> None:
    """Write a learner's verifiable transcript bundle: events, signatures and Merkle proofs."""
    from creditledger.bundle import build_bundle, events_after
    from creditledger.tlog import InconsistentLedgerError

    try:
        note = _read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        bundle = build_bundle(ledger, learner, note)
        size = int(bundle.checkpoint.split("\n", 2)[1])
        later = events_after(ledger, learner, size)
    except InconsistentLedgerError as e:
        _fail(str(e), 1)
    except CreditLedgerError as e:
        _fail(str(e))
    events = sum(len(a.events) for a in bundle.aggregates)
    _write(bundle.to_json(), output, f"bundle of {learner}: {events} events in "
           f"{len(bundle.aggregates)} aggregates, proven against the checkpoint of {size} events,")
    if later:
        _err.print(f"note: {later} later events of {learner} are not covered by that checkpoint; "
                   "publish a new checkpoint (creditledger checkpoint) to include them")


def verify_bundle_command(
    bundle: Annotated[Path, typer.Argument(help="A transcript bundle (JSON).")],
    root_key: RootKeyOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Check a transcript bundle offline (exit 0 intact, 1 fails, 2 unusable)."""
    from creditledger.bundle import Bundle, BundleVerificationError, verify_bundle

    try:
        pinned = _pin(root_key)
        report = verify_bundle(Bundle.load(bundle), pinned)
    except BundleVerificationError as e:
        if as_json:
            typer.echo(json.dumps({"intact": False, "fault": {**asdict(e.fault),
                                   "kind": e.fault.kind.value}}, ensure_ascii=False))
            raise typer.Exit(1) from None
        _tampered(str(e.fault))
    except CreditLedgerError as e:
        _fail(str(e))
    if as_json:
        typer.echo(json.dumps({"intact": True, **asdict(report)}, ensure_ascii=False, indent=2))
        return
    _out.print(f"[bold green]intact[/]: transcript of learner {report.learner_id} in ledger "
               f"{report.ledger_id}: {report.events} events, each signed and included in the "
               f"checkpoint of {report.checkpoint_size} events; root key {report.root_key_id} "
               f"({_trust(report.root_key_pinned)})")
    for line in report.lines:
        _out.print(line)


def main() -> None:
    """Run the auditor toolkit's commands on their own (``python -m creditledger.audit_cli``)."""
    app = typer.Typer(name="creditledger", no_args_is_help=True, add_completion=False,
                      pretty_exceptions_enable=False, help="The creditledger auditor toolkit.")
    register_cli(app)
    app()


if __name__ == "__main__":
    main()
