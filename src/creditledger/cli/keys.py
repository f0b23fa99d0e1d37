"""Keys on the command line: ``keygen``, ``keys`` (the registry), and an institution
administrator's ``add-staff-key`` and ``revoke-staff-key`` (权限管理: each staff member signs
with a key of their own, in a role).

A school sets up a registrar, say: the registrar runs ``creditledger keygen t0451.pem``
(their private key never leaves them) and hands over ``t0451.pub``; the school's administrator
runs ``creditledger add-staff-key school.ledger --admin-key gzcc.pem --staff-id T-0451
--role registrar --public-key t0451.pub``. From then on every commit signed with ``t0451.pem``
names T-0451 and the role in its signed statement, and the ledger's write policy holds the key
to what a registrar may write for GZCC (``docs/permissions.md``).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    Format,
    FormatOption,
    LedgerArgument,
    PassphraseEnvOption,
    emit,
    err,
    fail,
    out,
    read_passphrase,
    structs,
)
from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.domain.policy import STAFF_ROLES, Role
from creditledger.errors import CreditLedgerError, ValidationError
from creditledger.services import CreditBank


def register(app: typer.Typer) -> None:
    """Add the key commands to ``app``."""
    app.command()(keygen)
    app.command()(keys)
    app.command("add-staff-key")(add_staff_key)
    app.command("revoke-staff-key")(revoke_staff_key)


def keygen(
    output: Annotated[Path, typer.Argument(help="Where to write the private key (PEM).")],
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Make a new Ed25519 key: the private key encrypted with the passphrase (owner-only
    file), its public key beside it as OUTPUT with the suffix .pub."""
    public = output.with_suffix(".pub")
    for path in (output, public):
        if path.exists():
            fail(f"{path} exists; refusing to overwrite a key")
    try:
        key = SigningKey.generate()
        key.save(output, read_passphrase(passphrase_env))
        public.write_text(key.public_key.to_base64() + "\n", encoding="ascii")
    except (CreditLedgerError, OSError) as e:
        fail(str(e))
    out.print(f"key {key.key_id}: private key {output}, public key {public}")


def keys(ledger: LedgerArgument, fmt: FormatOption = Format.table) -> None:
    """List the ledger's registered keys: institution, role, staff id, valid from, revoked."""
    try:
        with CreditBank.open(ledger) as bank:
            registered = bank.keys()
    except CreditLedgerError as e:
        fail(str(e))
    emit(structs(registered), fmt, "keys")


def add_staff_key(
    ledger: LedgerArgument,
    admin_key: Annotated[Path, typer.Option("--admin-key",
                                            help="The institution's own key (PEM).")],
    staff_id: Annotated[str, typer.Option("--staff-id", help="The staff member's id.")],
    role: Annotated[str, typer.Option(
        "--role", help=f"One of: {', '.join(sorted(r.value for r in STAFF_ROLES))}.")],
    public_key: Annotated[Path, typer.Option("--public-key",
                                             help="The staff member's public key file.")],
    valid_from: Annotated[datetime | None, typer.Option(
        "--valid-from", help="When the key starts (ISO 8601 with a time zone; default now).")
    ] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Register a staff member's key, in a role, for the institution whose administrator key
    signs the registration."""
    try:
        parsed = _staff_role(role)
        admin = SigningKey.load(admin_key, read_passphrase(passphrase_env))
        staff = PublicKey.from_file(public_key)
        with CreditBank.open(ledger) as bank:
            entry = bank.register_staff_key(staff_id, parsed, staff, admin_key=admin,
                                            valid_from=valid_from)
    except CreditLedgerError as e:
        fail(str(e))
    out.print(f"registered {entry.key_id} for {entry.principal}: {entry.staff_id} "
              f"({entry.role}) from {entry.valid_from.isoformat()}")


def revoke_staff_key(
    ledger: LedgerArgument,
    key_id: Annotated[str, typer.Argument(help="The staff key's id (ed25519:...).")],
    admin_key: Annotated[Path, typer.Option("--admin-key",
                                            help="The institution's own key (PEM).")],
    reason: Annotated[str, typer.Option(help="Why (kept in the ledger).")] = "revoked",
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Revoke one of the institution's staff keys from now; what it signed stays valid."""
    try:
        admin = SigningKey.load(admin_key, read_passphrase(passphrase_env))
        with CreditBank.open(ledger) as bank:
            bank.revoke_staff_key(key_id, admin_key=admin, reason=reason)
    except CreditLedgerError as e:
        fail(str(e))
    err.print(f"revoked {key_id}")


def _staff_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in STAFF_ROLES:
        allowed = ", ".join(sorted(r.value for r in STAFF_ROLES))
        raise ValidationError("role", f"{value!r} is not a staff role (one of: {allowed})")
    return role
