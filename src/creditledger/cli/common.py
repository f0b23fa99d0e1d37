"""What every command module of the ``creditledger`` command shares: arguments, keys, opening
a ledger (read-only for every command that only reads) and its views, and errors.

Exit codes follow the auditor's convention everywhere: 0 done or intact, 1 fails verification
(or rows were rejected), 2 unusable input — with one ``error:`` line on standard error and no
traceback. Keys follow one rule: ``--key`` is always a private key (an encrypted PKCS#8 PEM file
that ``keygen`` or ``init`` wrote), ``--root-key`` and ``--public-key`` always public ones.
"""

from __future__ import annotations

import os
import sqlite3
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn
from uuid import UUID

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.errors import UnusableLedgerError, ValidationError

if TYPE_CHECKING:
    import sqlite_utils

    from creditledger.projections import Projector
    from creditledger.services import CreditBank

PASSPHRASE_ENV = "CREDITLEDGER_PASSPHRASE"
"""The environment variable a private key's passphrase is read from (else a prompt)."""
KEK_FILE_ENV = "CREDITLEDGER_KEK_FILE"
"""The environment variable naming the school's key-encryption key file (``--kek``)."""
KEK_PASSPHRASE_ENV = "CREDITLEDGER_KEK_PASSPHRASE"
"""The environment variable holding the key-encryption key's passphrase (instead of a file)."""

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

LedgerArgument = Annotated[str, typer.Argument(
    metavar="LEDGER", help="The ledger file, or postgresql://USER:PW@HOST:PORT/DB?schema=S.")]
"""A ledger file or URL: a plain string, since a path would fold a URL's ``//``."""

RootKeyOption = Annotated[Path | None, typer.Option(
    "--root-key", metavar="ROOT.pub",
    help="Pin the ledger's root PUBLIC key (PEM, base64 or hex file).")]
PassphraseEnvOption = Annotated[str, typer.Option(
    "--passphrase-env", metavar="NAME",
    help="Environment variable holding the private key's passphrase (else a prompt).")]
ViewsOption = Annotated[Path | None, typer.Option(
    "--views", metavar="VIEWS.db", help="The views database (default: LEDGER.views.db beside a "
    "ledger file; required for a postgresql:// ledger).")]


def key_option(who: str) -> Any:
    """``--key``: a PRIVATE key (encrypted PKCS#8 PEM), described as ``who``'s."""
    return typer.Option("--key", metavar="KEY.pem",
                        help=f"{who}: a PRIVATE key file (encrypted PEM, from keygen or init).")


def public_key_option(whose: str) -> Any:
    """``--public-key``: a PUBLIC key file, described as ``whose``."""
    return typer.Option("--public-key", metavar="KEY.pub",
                        help=f"{whose}: a PUBLIC key file (the .pub keygen wrote).")


# -- messages and errors ---------------------------------------------------------------------


def shown(text: str) -> str:
    """``text`` safe to print on one line: every character that is not printable (a line break,
    a Unicode line or record separator, a terminal escape) written as an escape instead.

    Messages quote what a ledger or a document says (an aggregate id, a name), which whoever
    made the file chose: it must not start a new line or drive the terminal, or a forged file
    could print its own "intact" line under the verifier's verdict."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print ``error: message`` on stderr (the message as plain text, never as rich markup,
    so ``creditledger[postgres]`` stays as written) and exit with ``code``."""
    err.print(f"[bold red]error:[/] {escape(shown(message))}")
    raise typer.Exit(code)


def tampered(message: str) -> NoReturn:
    """Print ``TAMPERED: message`` and exit 1 (the document or ledger fails verification)."""
    out.print(f"[bold red]TAMPERED[/]: {escape(shown(message))}")
    raise typer.Exit(1)


def done(message: str) -> None:
    """Say on stdout what a command did (as plain text: it quotes names people chose)."""
    out.print(escape(shown(message)))


def note(message: str) -> None:
    """Say something beside the output, on stderr."""
    err.print(escape(shown(message)))


def trust_note(pinned: bool) -> str:
    """How a root key was trusted, for a report line."""
    if pinned:
        return "pinned"
    return "named by the file itself, NOT pinned: pass --root-key to check it is the ledger's"


# -- keys ------------------------------------------------------------------------------------


def read_passphrase(env_name: str) -> bytes:
    """A private key's passphrase: from the environment variable, else a prompt on a terminal.

    Raises :class:`UnusableLedgerError` (the CLI's exit 2) when neither is available.
    """
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise UnusableLedgerError(f"no passphrase: set the environment variable {env_name}")
        value = typer.prompt("passphrase of the key", hide_input=True)
    return value.encode("utf-8")


def new_passphrase(env_name: str) -> bytes:
    """The passphrase to encrypt a new private key with: from the environment variable, else
    asked twice on a terminal."""
    value = os.environ.get(env_name)
    if value is None:
        if not sys.stdin.isatty():
            raise UnusableLedgerError(f"no passphrase: set the environment variable {env_name}")
        value = typer.prompt("passphrase for the new key", hide_input=True,
                             confirmation_prompt=True)
    return value.encode("utf-8")


def signing_key(path: Path, env_name: str = PASSPHRASE_ENV, option: str = "--key") -> SigningKey:
    """The private key in ``path`` (``--key``), decrypted with the passphrase; a public key
    given instead is named as the mistake it is."""
    if _looks_public(path):
        raise UnusableLedgerError(f"{option} {path}: this is a PUBLIC key; {option} takes the "
                                  "private key file (the .pem that keygen wrote)")
    return SigningKey.load(path, read_passphrase(env_name))


def public_key(path: Path, option: str = "--public-key") -> PublicKey:
    """The public key in ``path``; a private key given instead is refused (exit 2)."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnusableLedgerError(f"{option} {path}: {e.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise UnusableLedgerError(f"{option} {path}: this is a PRIVATE key; {option} takes a "
                                  "public key file (the .pub that keygen wrote)")
    try:
        return PublicKey.from_text(data)
    except UnusableLedgerError as e:
        raise UnusableLedgerError(f"{option} {path}: {str(e).removeprefix('root key: ')}"
                                  ) from None


def pinned_key(path: Path | None) -> PublicKey | None:
    """The public key in the file ``path`` (``--root-key``), if one is given."""
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnusableLedgerError(f"root key: cannot read {path}: {e.strerror}") from None
    if b"PRIVATE KEY" in data:
        raise UnusableLedgerError(f"root key {path}: this is a PRIVATE key; --root-key takes "
                                  "the root's public key file (the .pub that init wrote)")
    return PublicKey.from_text(data)


def _looks_public(path: Path) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False  # SigningKey.load names the problem
    if b"PRIVATE KEY" in data:
        return False
    try:
        PublicKey.from_text(data)
    except (UnusableLedgerError, ValidationError):
        return False
    return True


# -- values given on the command line --------------------------------------------------------


def decimal_value(text: str, field: str) -> Decimal:
    """A number given as ``--field``: a :class:`ValidationError` naming it otherwise."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(field, f"{text!r} is not a number") from None
    if not value.is_finite():
        raise ValidationError(field, f"{text!r} is not a number")
    return value


def optional_date(text: str | None, field: str) -> date | None:
    """A date given as ``--field`` (ISO 8601, 2022-07-15), if given."""
    return None if text is None else date_value(text, field)


def date_value(text: str, field: str) -> date:
    """A date given as ``--field`` (ISO 8601, 2022-07-15)."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not a date like 2022-07-15") from None


def uuid_value(text: str, field: str) -> UUID:
    """An id given on the command line (a UUID, as ``record`` and the transcript print it)."""
    try:
        return UUID(text)
    except ValueError:
        raise ValidationError(field, f"{text!r} is not an id (a UUID)") from None


def read_text(path: Path, what: str) -> str:
    """A UTF-8 text file given on the command line (:class:`UnusableLedgerError` otherwise)."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as e:
        raise UnusableLedgerError(f"{what} {path}: {e.strerror}") from e
    except UnicodeDecodeError as e:
        raise UnusableLedgerError(f"{what} {path}: not UTF-8 text") from e


def write_output(data: bytes, output: Path | None, what: str) -> None:
    """Write a document to ``output`` (saying so on stderr), or to stdout."""
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    try:
        output.write_bytes(data)
    except OSError as e:
        fail(f"cannot write {output}: {e.strerror}")
    err.print(f"{escape(what)} written to {escape(str(output))}")


# -- opening a ledger and its views ----------------------------------------------------------


KekOption = Annotated[Path | None, typer.Option(
    "--kek", metavar="KEK.key", help="The school's key-encryption key file, which opens the "
    "learners' data keys (else $CREDITLEDGER_KEK_FILE or $CREDITLEDGER_KEK_PASSPHRASE).")]


def school_kek(path: Path | None = None) -> KeyEncryptionKey | None:
    """The school's key-encryption key: ``--kek``, else the file ``$CREDITLEDGER_KEK_FILE``,
    else the passphrase ``$CREDITLEDGER_KEK_PASSPHRASE``; ``None`` if none is given."""
    named = path or os.environ.get(KEK_FILE_ENV)
    if named:
        return KeyEncryptionKey.load(named)
    passphrase = os.environ.get(KEK_PASSPHRASE_ENV)
    return KeyEncryptionKey.from_passphrase(passphrase) if passphrase else None


def open_bank(ledger: str, *, read_only: bool = False, kek: Path | None = None,
              personal: bool = False) -> CreditBank:
    """The credit bank in ``ledger``; ``read_only`` for every command that only reads (it then
    cannot write to the ledger, whatever happens). A command that writes, or reads ``personal``
    data, gets the school's key-encryption key (:func:`school_kek`), if one is given."""
    from creditledger.services import CreditBank

    key = school_kek(kek) if personal or not read_only else None
    return CreditBank.open(ledger, read_only=read_only, kek=key)


@contextmanager
def reading(ledger: str) -> Iterator[CreditBank]:
    """The credit bank in ``ledger``, opened read-only, closed afterwards."""
    bank = open_bank(ledger, read_only=True)
    try:
        yield bank
    finally:
        bank.close()


def open_views(bank: CreditBank, views: Path | None) -> Projector:
    """The bank's read models (in ``views``, or beside a ledger file), not caught up yet."""
    try:
        return bank.read_models(views)
    except sqlite3.Error as e:  # the library leaves a views file it cannot open untyped
        where = f" {views}" if views is not None else " beside the ledger"
        raise UnusableLedgerError(f"the views database{where}: {e} (give --views a file you "
                                  "may write)") from None


@contextmanager
def views_of(bank: CreditBank, views: Path | None) -> Iterator[Projector]:
    """The bank's read models, caught up with the ledger (in ``views``, or beside a ledger
    file), with a progress bar on a terminal."""
    projector = open_views(bank, views)
    try:
        if err.is_terminal:
            columns = (TextColumn("catching up the views"), BarColumn(),
                       TextColumn("{task.completed}/{task.total}"), TimeRemainingColumn())
            with Progress(*columns, console=err, transient=True) as bar:
                task = bar.add_task("views", total=None)
                projector.catch_up(
                    progress=lambda done, head: bar.update(task, completed=done, total=head))
        else:
            projector.catch_up()
        yield projector
    finally:
        projector.close()


@contextmanager
def read_views(ledger: str, views: Path | None) -> Iterator[sqlite_utils.Database]:
    """The read models of ``ledger`` (opened read-only), caught up."""
    with reading(ledger) as bank, views_of(bank, views) as projector:
        yield projector.db
