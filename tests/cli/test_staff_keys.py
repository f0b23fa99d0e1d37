"""A school sets up its staff's keys from the command line (docs/permissions.md walks the same
steps): ``keygen``, ``add-staff-key``, ``keys``, ``revoke-staff-key``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from creditledger.audit.verify import verify_ledger
from creditledger.cli.app import app
from tests.services.bank.fixtures import World, make_world

PASSPHRASE = "staff-keys-test"


def cli(*args: str | Path) -> Any:
    result = CliRunner().invoke(app, [str(a) for a in args],
                                env={"CREDITLEDGER_PASSPHRASE": PASSPHRASE, "COLUMNS": "200"})
    assert "Traceback" not in result.output
    return result


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path / "school.ledger")
    world.bank.close()
    world.gzcc.save(tmp_path / "gzcc.pem", PASSPHRASE.encode())
    world.lnpc.save(tmp_path / "lnpc.pem", PASSPHRASE.encode())
    return world


def registered(ledger: Path) -> list[dict[str, Any]]:
    result = cli("keys", ledger, "--format", "json")
    assert result.exit_code == 0, result.output
    rows: list[dict[str, Any]] = json.loads(result.stdout)
    return rows


def test_an_administrator_adds_lists_and_revokes_a_staff_key(world: World, tmp_path: Path) -> None:
    ledger = tmp_path / "school.ledger"
    made = cli("keygen", tmp_path / "t0451.pem")
    assert made.exit_code == 0 and (tmp_path / "t0451.pub").exists(), made.output
    added = cli("add-staff-key", ledger, "--admin-key", tmp_path / "gzcc.pem",
                "--staff-id", "T-0451", "--role", "registrar",
                "--public-key", tmp_path / "t0451.pub")
    assert added.exit_code == 0 and "T-0451 (registrar)" in added.stdout, added.output
    staff = next(k for k in registered(ledger) if k["staff_id"] == "T-0451")
    assert (staff["institution"], staff["role"], staff["revoked_from"]) == \
        ("GZCC", "registrar", None)

    not_theirs = cli("revoke-staff-key", ledger, staff["key_id"],
                     "--admin-key", tmp_path / "lnpc.pem")
    assert not_theirs.exit_code == 2 and "institution is 'GZCC', not 'LNPC'" in not_theirs.output

    revoked = cli("revoke-staff-key", ledger, staff["key_id"], "--admin-key",
                  tmp_path / "gzcc.pem", "--reason", "left the school")
    assert revoked.exit_code == 0, revoked.output
    assert next(k for k in registered(ledger) if k["staff_id"] == "T-0451")["revoked_from"]
    assert verify_ledger(str(ledger)).fault is None


def test_a_role_that_is_no_staff_role_and_an_existing_key_file_are_refused(
    world: World, tmp_path: Path,
) -> None:
    ledger = tmp_path / "school.ledger"
    assert cli("keygen", tmp_path / "k.pem").exit_code == 0
    again = cli("keygen", tmp_path / "k.pem")
    assert again.exit_code == 2 and "refusing to overwrite" in again.output
    before = registered(ledger)
    for role in ("dean", "administrator", "root"):
        result = cli("add-staff-key", ledger, "--admin-key", tmp_path / "gzcc.pem",
                     "--staff-id", "X-1", "--role", role, "--public-key", tmp_path / "k.pub")
        assert result.exit_code == 2 and "is not a staff role" in result.output, result.output
    assert registered(ledger) == before
