"""Revocation anyone can check offline (W3C Bitstring Status List): each certificate claims a
random entry of its key's list, in its own commit; revoking it sets its bit in the next list;
``verify-credential --status-list`` and the library read the bit, and refuse a list that is not
the issuer's or was changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from creditledger.audit.credential import dumps, verify_credential
from creditledger.audit.vc import status
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from creditledger.domain.credential_status import LIST_SIZE
from creditledger.errors import InvalidCredentialError

from .world import World, make_world

PASSPHRASE = "status-lists"


@given(st.sets(st.integers(0, LIST_SIZE - 1), max_size=50))
def test_a_list_sets_exactly_the_bits_it_is_given(indices: set[int]) -> None:
    bits = status.decode(status.encode(indices))
    assert len(bits) * 8 == LIST_SIZE
    assert {i for i in range(LIST_SIZE) if bits[i // 8] & (0x80 >> (i % 8))} == indices
    assert status.encode(indices) == status.encode(sorted(indices))  # deterministic


def test_bit_zero_is_the_most_significant_bit_of_the_first_byte() -> None:
    assert status.decode(status.encode({0}))[0] == 0x80
    assert status.decode(status.encode({9}))[1] == 0x40


@pytest.fixture(scope="module")
def revoked_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, list[dict[str, Any]],
                                                                     list[dict[str, Any]]]:
    world = make_world(tmp_path_factory.mktemp("status") / "alliance.ledger")
    offering = world.offer()
    ids = [world.passed(offering.id, world.learner(f"HNAT-9{n}", "HNAT"), "HNAT")
           for n in range(3)]
    documents = [world.bank.export_course_certificate(i) for i in ids]
    world.bank.revoke_course_certificate(ids[1], reason="fraud", note="代考",
                                         signer=world.key("CQAT"))
    return world, documents, world.bank.status_lists(world.key("CQAT"))


def test_each_certificate_claims_its_own_entry_and_revocation_sets_its_bit(
    revoked_world: tuple[World, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    _world, documents, lists = revoked_world
    entries = [d["credentialStatus"] for d in documents]
    assert len({e["id"] for e in entries}) == 3
    (found,) = lists
    assert {e["statusListCredential"] for e in entries} == {found["id"]}
    by_id = {found["id"]: found}
    verified = verify_credential(documents[0], status_lists=by_id)
    assert "not revoked" in verified.revocation
    with pytest.raises(InvalidCredentialError, match="status: the certificate was revoked"):
        verify_credential(documents[1], status_lists=by_id)


def test_a_list_by_another_key_or_changed_is_refused(
    revoked_world: tuple[World, list[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    world, documents, lists = revoked_world
    (found,) = lists
    now = datetime.now(UTC).replace(microsecond=0)
    stranger = status.list_credential(SigningKey.generate(), 0, [], valid_from=now)
    foreign = {**stranger, "id": found["id"]}
    with pytest.raises(InvalidCredentialError, match="not by the credential's issuer"):
        verify_credential(documents[0], status_lists={found["id"]: foreign})
    cleared = json.loads(json.dumps(found))
    cleared["credentialSubject"]["encodedList"] = status.encode(())
    with pytest.raises(InvalidCredentialError, match="does not match"):
        verify_credential(documents[1], status_lists={found["id"]: cleared})
    with pytest.raises(InvalidCredentialError, match="was not given"):
        verify_credential(documents[0], status_lists={"https://elsewhere/1": found})
    assert world.bank.status_lists(SigningKey.generate()) == []


def test_the_command_line_writes_the_lists_and_checks_a_certificate_against_them(
    revoked_world: tuple[World, list[dict[str, Any]], list[dict[str, Any]]], tmp_path: Path,
) -> None:
    world, documents, _lists = revoked_world
    world.key("CQAT").save(tmp_path / "cqat.pem", PASSPHRASE.encode())
    env = {"CREDITLEDGER_PASSPHRASE": PASSPHRASE}
    runner = CliRunner()
    world.bank.close()
    try:
        written = runner.invoke(app, ["status-list", str(world.path), "--key",
                                      str(tmp_path / "cqat.pem"), "-o", str(tmp_path / "lists")],
                                env=env)
        assert written.exit_code == 0, written.output
        (list_file,) = (tmp_path / "lists").glob("*.json")
        for document, code in ((documents[0], 3), (documents[1], 1)):
            file = tmp_path / "certificate.json"
            file.write_bytes(dumps(document))
            checked = runner.invoke(app, ["verify-credential", str(file), "--status-list",
                                          str(list_file)])
            assert checked.exit_code == code, checked.output  # 3: intact, keys not anchored
        assert "marks entry" in checked.output
    finally:
        world.bank = world.bank.open(world.path)
