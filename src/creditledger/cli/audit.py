"""The auditor toolkit's commands: ``checkpoint``, ``consistency``, ``verify-consistency``,
``prove`` and ``verify-bundle`` (exit 0 done or intact, 1 fails verification or is stale, 2
unusable input, 3 intact but not proven complete), and ``verifier-page`` (the same checks in
one offline HTML page).
"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    RootKeyOption,
    err,
    fail,
    out,
    pinned_key,
    read_text,
    shown,
    signing_key,
    tampered,
    trust_note,
    write_output,
)
from creditledger.cli.output import Format, FormatOption, JsonOption, chosen, emit_report
from creditledger.errors import CreditLedgerError, UnusableLedgerError

if TYPE_CHECKING:
    from creditledger.audit.bundle_verify import WitnessPolicy


def register(app: typer.Typer) -> None:
    """Add the auditor toolkit's commands to ``app``."""
    app.command("checkpoint")(checkpoint_command)
    app.command("consistency")(consistency_command)
    app.command("verify-consistency")(verify_consistency_command)
    app.command("prove")(prove_command)
    app.command("verify-bundle")(verify_bundle_command)
    app.command("verifier-page")(verifier_page_command)


def checkpoint_command(
    ledger: LedgerArgument,
    key: Annotated[list[Path], typer.Option(
        "--key", metavar="KEY.pem", help="The root's PRIVATE key (encrypted PEM); repeat to add "
        "more signatures (e.g. a new key during rotation). The first must be the ledger's "
        "root key.")],
    passphrase_env: Annotated[list[str] | None, typer.Option(
        "--passphrase-env", metavar="NAME", help="Environment variable with a key's "
        f"passphrase, one per --key in order (default {PASSPHRASE_ENV}).")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the checkpoint here, not to stdout.")
    ] = None,
    no_verify: Annotated[bool, typer.Option(
        "--no-verify", help="Trust the stored tree: skip verifying the whole ledger.")] = False,
) -> None:
    """Sign a C2SP checkpoint of the ledger's Merkle tree and record it in the ledger."""
    from creditledger.audit.checkpoints import publish_checkpoint
    from creditledger.errors import CorruptTreeError, InconsistentLedgerError, TamperedLedgerError

    envs = passphrase_env or [PASSPHRASE_ENV]
    try:
        keys = [signing_key(path, envs[min(i, len(envs) - 1)]) for i, path in enumerate(key)]
        recorded = publish_checkpoint(ledger, keys, verify=not no_verify)
    except (TamperedLedgerError, CorruptTreeError, InconsistentLedgerError) as e:
        fail(f"refusing to sign a checkpoint: {e}", 1)
    except CreditLedgerError as e:
        fail(str(e))
    write_output(recorded.note.encode("utf-8"), output,
           f"checkpoint of {recorded.size} events (recorded as event {recorded.position})")


def _note_argument(ledger: str, value: str) -> str:
    """A checkpoint given as a file, or as the size of a checkpoint recorded in the ledger."""
    path = Path(value)
    if path.exists() or not value.isdigit():
        return read_text(path, "checkpoint")
    from creditledger.audit.checkpoints import recorded_checkpoints
    from creditledger.store.readers import open_reader

    with open_reader(ledger) as reader, reader.translate_errors():
        recorded = recorded_checkpoints(reader, reader.ledger_id())
    found = [c for c in recorded if c.size == int(value)]
    if not found:
        raise UnusableLedgerError(f"no file {value} and no recorded checkpoint of size {value}")
    return found[-1].note


def consistency_command(
    ledger: LedgerArgument,
    old: Annotated[str, typer.Argument(
        metavar="OLD",
        help="The older checkpoint: a file, or the size of a checkpoint recorded in the ledger.")],
    new: Annotated[str, typer.Argument(metavar="NEW",
                                       help="The newer checkpoint (the same forms).")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the proof here, not to stdout.")] = None,
) -> None:
    """Prove that the ledger at checkpoint OLD is a prefix of the ledger at NEW."""
    from creditledger.audit.checkpoints import prove_consistency
    from creditledger.errors import InconsistentLedgerError

    try:
        result = prove_consistency(ledger, _note_argument(ledger, old),
                                   _note_argument(ledger, new))
    except InconsistentLedgerError as e:
        tampered(str(e))
    except CreditLedgerError as e:
        fail(str(e))
    write_output(result.to_json(), output, f"consistency proof ({len(result.proof)} hashes)")


def verify_consistency_command(
    proof: Annotated[Path, typer.Argument(metavar="PROOF", help="A consistency proof file.")],
    root_key: RootKeyOption = None,
) -> None:
    """Check a consistency proof offline: both checkpoints' signatures and the proof."""
    from creditledger.audit.checkpoints import ConsistencyFile, verify_consistency_file
    from creditledger.errors import InconsistentLedgerError

    try:
        pinned = pinned_key(root_key)
        try:
            data = proof.read_bytes()
        except OSError as e:
            raise UnusableLedgerError(f"consistency proof {proof}: {e.strerror}") from e
        report = verify_consistency_file(ConsistencyFile.from_json(data), pinned)
    except InconsistentLedgerError as e:
        tampered(str(e))
    except CreditLedgerError as e:
        fail(str(e))
    out.print("[bold green]consistent[/]: " + escape(shown(
        f"ledger {report.ledger_id} at {report.old_size} events is a prefix of the ledger at "
        f"{report.new_size} events; root key {report.root_key_id} "
        f"({trust_note(report.root_key_pinned)})")))


def prove_command(
    ledger: LedgerArgument,
    learner: Annotated[str, typer.Option("--learner", metavar="ID", help="The learner id.")],
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the bundle here, not to stdout.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", metavar="FILE",
        help="Prove against this checkpoint (default: the last recorded).")] = None,
) -> None:
    """Write a learner's verifiable transcript bundle: events, signatures and Merkle proofs."""
    from creditledger.audit.bundle import build_bundle, events_after
    from creditledger.errors import InconsistentLedgerError

    try:
        note = read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        bundle = build_bundle(ledger, learner, note)
        size = int(bundle.checkpoint.split("\n", 2)[1])
        later = events_after(ledger, learner, size)
    except InconsistentLedgerError as e:
        fail(str(e), 1)
    except CreditLedgerError as e:
        fail(str(e))
    events = sum(len(a.events) for a in bundle.aggregates)
    write_output(bundle.to_json(), output, f"bundle of {learner}: {events} events in "
           f"{len(bundle.aggregates)} aggregates, proven against the checkpoint of {size} events,")
    if bundle.heads:
        err.print(escape(shown(f"complete: with the index proofs of {len(bundle.heads)} heads "
                               "(every aggregate the account names, at the checkpoint)")))
    else:
        err.print(escape(shown("completeness: NOT provable: the checkpoint predates the index "
                               "of heads; publish a new checkpoint (creditledger checkpoint)")))
    if later:
        err.print(escape(shown(
            f"note: {later} later events of {learner} are not covered by that checkpoint; "
            "publish a new checkpoint (creditledger checkpoint) to include them")))


def verify_bundle_command(
    bundle: Annotated[Path, typer.Argument(metavar="BUNDLE",
                                           help="A transcript bundle (JSON).")],
    root_key: RootKeyOption = None,
    witness: Annotated[list[str] | None, typer.Option(
        "--witness", metavar="VKEY", help="A trusted witness's verifier key (name+id+key), or "
        "a file holding one; repeat for each.")] = None,
    quorum: Annotated[int | None, typer.Option(
        "--quorum", metavar="K", help="Demand K of the witnesses' cosignatures (default: all "
        "given).")] = None,
    max_age: Annotated[str | None, typer.Option(
        "--max-age", metavar="DURATION", help="Only count cosignatures younger than this "
        "(24h, 7d, 90m...).")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", metavar="FILE", help="A newer checkpoint you hold (from witnesses or "
        "tiles): a bundle proven against an older one is stale (exit 1).")] = None,
    fmt: FormatOption = None,
    as_json: JsonOption = False,
) -> None:
    """Check a transcript bundle offline (exit 0 intact and complete, 1 fails or stale,
    2 unusable, 3 intact but not proven complete)."""
    from creditledger.audit.bundle import Bundle
    from creditledger.audit.bundle_verify import verify_bundle
    from creditledger.errors import BundleVerificationError

    shape = chosen(fmt, as_json)
    try:
        pinned = pinned_key(root_key)
        policy = _witness_policy(witness or [], quorum, max_age)
        held = read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        report = verify_bundle(Bundle.load(bundle), pinned, policy, held)
    except BundleVerificationError as e:
        if shape is Format.table:
            tampered(str(e.fault))
        emit_report({"intact": False, "fault": {**asdict(e.fault), "kind": e.fault.kind.value}},
                    shape, lambda: [])
        raise typer.Exit(1) from None
    except CreditLedgerError as e:
        fail(str(e))
    data = {"intact": True, **asdict(report)}
    if shape is not Format.table:
        emit_report(data, shape, lambda: [])
        if not report.complete:
            raise typer.Exit(3)
        return
    out.print("[bold green]intact[/]: " + escape(shown(
        f"transcript of learner {report.learner_id} in ledger {report.ledger_id}: "
        f"{report.events} events, each signed and included in the checkpoint of "
        f"{report.checkpoint_size} events; root key {report.root_key_id} "
        f"({trust_note(report.root_key_pinned)})")))
    if report.cosigned_by:
        out.print(escape(shown("cosigned by witnesses " + ", ".join(
            f"{name} (at {stamp})" for name, stamp in sorted(report.cosigned_by.items())))))
    out.print(escape(shown(report.completeness)))
    for line in report.lines:
        out.print(escape(shown(line)))
    if not report.complete:
        raise typer.Exit(3)


def verifier_page_command(
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", metavar="FILE", help="Write the page here (e.g. verify.html), not to "
        "stdout.")] = None,
) -> None:
    """Write the offline verifier page: one HTML file that checks a transcript bundle, a course
    certificate or a CLR in the browser (WebCrypto), fetching nothing, for whoever receives one."""
    from creditledger.audit.page import verifier_page

    write_output(verifier_page(), output, "the verifier page")


def _witness_policy(given: list[str], quorum: int | None, max_age: str | None
                    ) -> WitnessPolicy | None:
    """The witnesses demanded by --witness/--quorum/--max-age (None: no witness check)."""
    from creditledger.audit.bundle_verify import WitnessPolicy
    from creditledger.cli.witness import duration
    from creditledger.crypto.cosignature import WitnessKey

    if not given:
        if quorum or max_age:
            raise UnusableLedgerError("--quorum and --max-age need at least one --witness")
        return None
    keys = [WitnessKey.parse(read_text(Path(v), "witness key") if Path(v).is_file() else v)
            for v in given]
    k = len(keys) if quorum is None else quorum
    if not 1 <= k <= len(keys):
        raise UnusableLedgerError(f"--quorum {k}: choose 1..{len(keys)} (the witnesses given)")
    return WitnessPolicy(tuple(keys), k, None if max_age is None else duration(max_age))
