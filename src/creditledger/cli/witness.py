"""The witness commands (``creditledger witness init|follow|request|add-checkpoint|serve|
submit|attach``) and ``publish-tiles``. Over files: the school writes an ``add-checkpoint``
request (the C2SP tlog-witness body), the witness answers with a cosignature line, the school
attaches the lines to its checkpoint. Over HTTP: ``witness serve`` answers
``POST /add-checkpoint`` and ``witness submit`` asks it. Exit 1: the witness refuses a
checkpoint that is not an extension of what it cosigned (split view, bad proof, not the log's
signature); 2: unusable input or a request from a size that is not the witness's latest (the
message names the latest).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    done,
    fail,
    public_key,
    read_text,
    signing_key,
    write_output,
)
from creditledger.errors import CreditLedgerError, WitnessConflictError, WitnessError

witness_app = typer.Typer(
    name="witness", no_args_is_help=True, rich_markup_mode=None,
    help="Run a witness for another school's ledger (C2SP tlog-witness), or ask one to "
         "cosign your checkpoint. See docs/witness.md.")

StateArgument = Annotated[Path, typer.Argument(metavar="STATE",
                                               help="The witness's state file (SQLite).")]
WitnessKeyOption = Annotated[Path, typer.Option(
    "--key", metavar="KEY.pem", help="The witness's PRIVATE key (encrypted PEM, from keygen).")]
OutputOption = Annotated[Path | None, typer.Option(
    "-o", "--output", metavar="FILE", help="Write here, not to stdout.")]
CheckpointOption = Annotated[Path | None, typer.Option(
    "--checkpoint", metavar="FILE", help="The checkpoint (default: the last recorded).")]
_REFUSED = {403, 422}  # with a split view (409): fails verification against what was cosigned


def _refused(e: WitnessError) -> int:
    """Exit 1 when the witness refuses the checkpoint itself (a split view, a proof that does
    not verify, not the log's signature), 2 when the request was unusable or out of date."""
    refused = e.split_view if isinstance(e, WitnessConflictError) else e.status in _REFUSED
    return 1 if refused else 2


def register(app: typer.Typer) -> None:
    app.add_typer(witness_app)
    app.command("publish-tiles")(publish_tiles_command)


@witness_app.command("init")
def init_command(
    state: StateArgument,
    name: Annotated[str, typer.Option("--name", metavar="NAME", help="The witness's name, "
                                      "e.g. witness.gzcc.example (no spaces or '+').")],
    key: WitnessKeyOption,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Create a witness's state file; print its verifier key (give it to verifiers)."""
    from creditledger.audit.witness import Witness

    try:
        with Witness.init(state, name, signing_key(key, passphrase_env)) as witness:
            typer.echo(witness.public.vkey())
    except CreditLedgerError as e:
        fail(str(e))


@witness_app.command("follow")
def follow_command(
    state: StateArgument,
    ledger_id: Annotated[str, typer.Option("--ledger-id", metavar="ID",
                                           help="The followed ledger's id (or its origin).")],
    log_key: Annotated[Path, typer.Option("--log-key", metavar="ROOT.pub",
                                          help="The followed ledger's root PUBLIC key.")],
    key: WitnessKeyOption,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Start following a ledger: cosign its checkpoints from now on."""
    from creditledger.audit.witness import Witness
    from creditledger.crypto.note import ORIGIN_PREFIX, origin_for

    origin = ledger_id if ledger_id.startswith(ORIGIN_PREFIX) else origin_for(ledger_id)
    try:
        with Witness.open(state, signing_key(key, passphrase_env)) as witness:
            witness.follow(origin, public_key(log_key, "--log-key"))
    except CreditLedgerError as e:
        fail(str(e))
    done(f"following {origin}")


@witness_app.command("request")
def request_command(
    ledger: LedgerArgument,
    old_size: Annotated[int, typer.Option("--old-size", metavar="N", help="The witness's "
                                          "latest cosigned size of this ledger (0: none).")],
    checkpoint: CheckpointOption = None,
    output: OutputOption = None,
) -> None:
    """Write the add-checkpoint request (old size, consistency proof, checkpoint) for a witness."""
    from creditledger.audit.cosigning import checkpoint_request
    from creditledger.errors import InconsistentLedgerError

    try:
        note = read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        request = checkpoint_request(ledger, old_size, note)
    except InconsistentLedgerError as e:
        fail(str(e), 1)
    except CreditLedgerError as e:
        fail(str(e))
    write_output(request.format().encode("utf-8"), output,
                 f"add-checkpoint request from size {old_size}")


@witness_app.command("add-checkpoint")
def add_checkpoint_command(
    state: StateArgument,
    request: Annotated[Path, typer.Argument(metavar="REQUEST", help="An add-checkpoint request.")],
    key: WitnessKeyOption,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    output: OutputOption = None,
) -> None:
    """Cosign the request's checkpoint if it extends the last one cosigned of its ledger."""
    from creditledger.audit.witness import AddCheckpoint, Witness

    try:
        parsed = AddCheckpoint.parse(read_text(request, "request"))
        with Witness.open(state, signing_key(key, passphrase_env)) as witness:
            line = witness.add_checkpoint(parsed)
    except WitnessError as e:
        fail(f"witness refuses the checkpoint ({e.status}): {e}", _refused(e))
    except CreditLedgerError as e:
        fail(str(e))
    write_output(line.encode("utf-8"), output, "cosignature")


@witness_app.command("serve")
def serve_command(
    state: StateArgument,
    key: WitnessKeyOption,
    host: Annotated[str, typer.Option("--host", help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="The port to listen on.")] = 7380,
    prefix: Annotated[str, typer.Option(
        "--prefix", metavar="PATH", help="The submission prefix, e.g. /witness (default: none)."
    )] = "",
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Serve the witness over HTTP: POST PREFIX/add-checkpoint (C2SP tlog-witness)."""
    from creditledger.audit.witness import Witness
    from creditledger.portal.witness_http import WitnessService, witness_server

    if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
        fail(f"--prefix {prefix!r}: start it with '/' and do not end it with '/'")
    try:
        signer = signing_key(key, passphrase_env)
        with Witness.open(state, signer) as witness:  # the key must be this witness's
            name = witness.name
        server = witness_server(WitnessService(state, signer, prefix), host, port)
    except OSError as e:
        fail(f"cannot listen on {host}:{port}: {e.strerror}")
    except CreditLedgerError as e:
        fail(str(e))
    where = f"http://{host}:{server.server_address[1]}{prefix}/add-checkpoint"
    typer.echo(f"witness {name} listening on {where}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@witness_app.command("submit")
def submit_command(
    ledger: LedgerArgument,
    url: Annotated[str, typer.Option("--url", metavar="URL", help="The witness's submission "
                                     "prefix, e.g. http://witness.example:7380.")],
    old_size: Annotated[int, typer.Option("--old-size", metavar="N", help="The witness's latest "
                                          "cosigned size, if known (it says so otherwise).")] = 0,
    checkpoint: CheckpointOption = None,
    output: OutputOption = None,
) -> None:
    """Send the ledger's checkpoint to a witness over HTTP; write its cosignature line."""
    from creditledger.errors import InconsistentLedgerError
    from creditledger.portal.witness_http import submit_checkpoint

    try:
        note = read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        line = submit_checkpoint(ledger, url, old_size, note)
    except WitnessError as e:
        fail(str(e), _refused(e))
    except InconsistentLedgerError as e:
        fail(str(e), 1)
    except CreditLedgerError as e:
        fail(str(e))
    write_output(line.encode("utf-8"), output, "cosignature")


@witness_app.command("attach")
def attach_command(
    checkpoint: Annotated[Path, typer.Argument(metavar="CHECKPOINT", help="A signed checkpoint.")],
    cosignatures: Annotated[list[Path], typer.Argument(
        metavar="COSIGNATURE...", help="Files of cosignature lines from witnesses.")],
    output: OutputOption = None,
) -> None:
    """Append witnesses' cosignature lines to a checkpoint (use it with prove --checkpoint)."""
    from creditledger.crypto.cosignature import add_cosignatures

    try:
        lines = [line for path in cosignatures
                 for line in read_text(path, "cosignature").splitlines() if line.strip()]
        note = add_cosignatures(read_text(checkpoint, "checkpoint"), lines)
    except CreditLedgerError as e:
        fail(str(e))
    write_output(note.encode("utf-8"), output, f"checkpoint with {len(lines)} cosignatures")


def publish_tiles_command(
    ledger: LedgerArgument,
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the files.")],
    checkpoint: Annotated[Path | None, typer.Option(
        "--checkpoint", metavar="FILE", help="The checkpoint, e.g. with cosignatures attached "
        "(default: the last recorded).")] = None,
) -> None:
    """Write the checkpoint and the Merkle tree's tiles (C2SP tlog-tiles) as static files."""
    from creditledger.audit.tiles import publish_tiles
    from creditledger.errors import CorruptTreeError

    try:
        note = read_text(checkpoint, "checkpoint") if checkpoint is not None else None
        published = publish_tiles(ledger, directory, note)
    except CorruptTreeError as e:
        fail(str(e), 1)
    except OSError as e:
        fail(f"cannot write {directory}: {e.strerror}")
    except CreditLedgerError as e:
        fail(str(e))
    done(f"{published.tiles} tiles of {published.size} events and the checkpoint written to "
         f"{directory}")


_DURATION = re.compile(r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def duration(text: str) -> int:
    """Seconds in ``7d``, ``24h``, ``90m``, ``1h30m``, ``3600s`` or ``3600``."""
    if text.isdigit():
        return int(text)
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        raise WitnessError(f"--max-age: {text!r} is not a duration like 24h, 7d or 90m")
    d, h, m, s = (int(g or 0) for g in match.groups())
    return ((d * 24 + h) * 60 + m) * 60 + s
