"""Keys on the command line: ``keygen``, ``keys`` (the registry), and an institution
administrator's ``add-staff-key`` and ``revoke-staff-key`` (权限管理: each staff member signs
with a key of their own, in a role).

A school sets up a registrar, say: the registrar runs ``creditledger keygen t0451.pem``
(their private key never leaves them) and hands over ``t0451.pub``; the school's administrator
runs ``creditledger add-staff-key school.ledger --key gzcc.pem --staff-id T-0451
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
    LedgerArgument,
    PassphraseEnvOption,
    done,
    fail,
    key_option,
    new_passphrase,
    note,
    public_key,
    public_key_option,
    reading,
    signing_key,
)
from creditledger.cli.output import FormatOption, OutputOption, chosen, emit, structs
from creditledger.crypto.keys import SigningKey
from creditledger.domain.policy import STAFF_ROLES, Role
from creditledger.errors import CreditLedgerError, ValidationError
from creditledger.services import CreditBank


def register(app: typer.Typer) -> None:
    """Add the key commands to ``app``."""
    app.command()(keygen)
    app.command("add-staff-key")(add_staff_key)
    app.command("revoke-staff-key")(revoke_staff_key)
    app.command()(keys)


def keygen(
    output: Annotated[Path, typer.Argument(
        metavar="KEY.pem", help="Where to write the private key; the public key goes beside "
        "it, as KEY.pub.")],
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Make a new Ed25519 key: the private key encrypted with the passphrase (owner-only
    file), its public key beside it as KEY.pub. Never overwrites a file."""
    public = output.with_suffix(".pub")
    for path in (output, public):
        if path.exists():
            fail(f"{path} exists; refusing to overwrite a key")
    try:
        key = SigningKey.generate()
        key.save(output, new_passphrase(passphrase_env))
        public.write_text(key.public_key.to_base64() + "\n", encoding="ascii")
    except (CreditLedgerError, OSError) as e:
        fail(str(e))
    done(f"key {key.key_id}: private key {output}, public key {public}")


def keys(ledger: LedgerArgument, fmt: FormatOption = None, output: OutputOption = None) -> None:
    """List the ledger's registered keys: institution, role, staff id, valid from, revoked."""
    try:
        with reading(ledger) as bank:
            registered = bank.keys()
    except CreditLedgerError as e:
        fail(str(e))
    emit(structs(registered), chosen(fmt, output=output), "keys", output)


AdminKeyOption = Annotated[Path | None, key_option(
    "The institution's administrator key, its own (required)")]
LegacyAdminKeyOption = Annotated[Path | None, typer.Option(
    "--admin-key", hidden=True, help="Deprecated: use --key.")]


def add_staff_key(
    ledger: LedgerArgument,
    staff_id: Annotated[str, typer.Option("--staff-id", metavar="ID",
                                          help="The staff member's id.")],
    role: Annotated[str, typer.Option(
        "--role", metavar="ROLE",
        help=f"One of: {', '.join(sorted(r.value for r in STAFF_ROLES))}.")],
    staff_key: Annotated[Path, public_key_option("The staff member's key")],
    key: AdminKeyOption = None,
    admin_key: LegacyAdminKeyOption = None,
    valid_from: Annotated[datetime | None, typer.Option(
        "--valid-from", metavar="TIME",
        help="When the key starts (ISO 8601 with a time zone; default now).")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Register a staff member's key, in a role, for the institution whose administrator key
    signs the registration (--key)."""
    try:
        parsed = _staff_role(role)
        admin = signing_key(_admin_key(key, admin_key), passphrase_env)
        staff = public_key(staff_key)
        with CreditBank.open(ledger) as bank:
            entry = bank.register_staff_key(staff_id, parsed, staff, admin_key=admin,
                                            valid_from=valid_from)
    except CreditLedgerError as e:
        fail(str(e))
    done(f"registered {entry.key_id} for {entry.principal}: {entry.staff_id} "
         f"({entry.role}) from {entry.valid_from.isoformat()}")


def revoke_staff_key(
    ledger: LedgerArgument,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID",
                                          help="The staff key's id (ed25519:...).")],
    key: AdminKeyOption = None,
    admin_key: LegacyAdminKeyOption = None,
    reason: Annotated[str, typer.Option(metavar="TEXT",
                                        help="Why (kept in the ledger).")] = "revoked",
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Revoke one of the institution's staff keys from now; what it signed stays valid."""
    try:
        admin = signing_key(_admin_key(key, admin_key), passphrase_env)
        with CreditBank.open(ledger) as bank:
            bank.revoke_staff_key(key_id, admin_key=admin, reason=reason)
    except CreditLedgerError as e:
        fail(str(e))
    note(f"revoked {key_id}")


def _admin_key(key: Path | None, admin_key: Path | None) -> Path:
    """``--key`` (or the deprecated ``--admin-key``): one of them, and only one."""
    if key is not None and admin_key is not None and key != admin_key:
        fail("--key and --admin-key name two keys: give --key only")
    path = key or admin_key
    if path is None:
        fail("missing option --key: the institution's administrator key (PEM)")
    return path
def _staff_role(value: str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role not in STAFF_ROLES:
        allowed = ", ".join(sorted(r.value for r in STAFF_ROLES))
        raise ValidationError("role", f"{value!r} is not a staff role (one of: {allowed})")
    return role
