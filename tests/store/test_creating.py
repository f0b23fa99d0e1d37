"""Creating a ledger is all or nothing: a creation that fails leaves no file (nor ``-wal``,
``-shm``) and nothing in a PostgreSQL schema, so the same name can be created again; bad
arguments are refused, before anything is touched, with the library's own errors naming them.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.cryptography import AESCipher

from creditledger.crypto.keys import PublicKey, SigningKey
from creditledger.errors import (
    ConflictError,
    KeyFileExistsError,
    UnusableLedgerError,
    ValidationError,
)
from creditledger.services.bank import CreditBank
from creditledger.store.ledger import Ledger
from tests.services.bank.fixtures import KEK

from .contract import Target, is_postgres


class FailingKey(SigningKey):
    """A root key whose signature fails: the genesis is refused after the tables exist."""

    def sign(self, message: bytes) -> bytes:
        raise RuntimeError("the signing device is unplugged")


def leftovers(target: Target) -> Any:
    """What a creation left: the files of the folder, or the schema's tables and functions."""
    if not is_postgres(target):
        return sorted(os.listdir(Path(target).parent))
    import psycopg

    base, _, schema = str(target).partition("?schema=")
    with psycopg.connect(base) as conn:
        exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s",
                              (schema,)).fetchone()
        if exists is None:
            return None
        return (conn.execute("SELECT relname FROM pg_class WHERE relnamespace = "
                             "%s::regnamespace ORDER BY 1", (schema,)).fetchall(),
                conn.execute("SELECT proname FROM pg_proc WHERE pronamespace = "
                             "%s::regnamespace ORDER BY 1", (schema,)).fetchall())


def nothing_left(target: Target) -> Any:
    return None if is_postgres(target) else []


@pytest.mark.parametrize("root_key", [None, "root.pem", PublicKey(bytes(32))])
def test_a_root_key_that_is_not_a_signing_key_is_refused_and_leaves_nothing(
    ledger_target: Target, root_key: Any
) -> None:
    with pytest.raises(ValidationError, match="root_key") as e:
        CreditBank.create(ledger_target, root_key)
    assert e.value.field == "root_key"
    assert leftovers(ledger_target) == nothing_left(ledger_target)
    CreditBank.create(ledger_target, SigningKey.generate()).close()  # the name is still free


def test_bad_genesis_arguments_are_refused_before_anything_is_written(
    ledger_target: Target
) -> None:
    root = SigningKey.generate()
    for kwargs, field in (({"ledger_id": ""}, "ledger_id"), ({"ledger_id": 7}, "ledger_id"),
                          ({"policy": "anything-goes/9"}, "policy"),
                          ({"time_zone": "Mars/Olympus_Mons"}, "time_zone")):
        with pytest.raises(ValidationError) as e:
            Ledger.create(ledger_target, root, **kwargs)
        assert e.value.field == field
        assert leftovers(ledger_target) == nothing_left(ledger_target)


def test_a_ledger_wide_cipher_on_a_credit_bank_is_refused_and_leaves_nothing(
    ledger_target: Target
) -> None:
    """A cipher over every event would hide from the write policy what it checks: refused
    with a ValidationError naming ``policy``, and the target stays free."""
    env = {"CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
           "CIPHER_KEY": AESCipher.create_key(32)}
    with pytest.raises(ValidationError) as e:
        CreditBank.create(ledger_target, SigningKey.generate(), env=env)
    assert e.value.field == "policy"
    assert leftovers(ledger_target) == nothing_left(ledger_target)
    CreditBank.create(ledger_target, SigningKey.generate()).close()


def test_a_genesis_that_fails_leaves_no_file_and_no_schema(ledger_target: Target) -> None:
    with pytest.raises(RuntimeError, match="unplugged"):
        CreditBank.create(ledger_target, FailingKey.generate())
    assert leftovers(ledger_target) == nothing_left(ledger_target)
    with pytest.raises(UnusableLedgerError):
        CreditBank.open(ledger_target, kek=KEK)
    bank = CreditBank.create(ledger_target, SigningKey.generate())
    bank.close()
    with CreditBank.open(ledger_target, kek=KEK) as bank:
        assert bank.keys()[0].institution == "root"


def test_a_genesis_that_fails_in_a_schema_that_was_there_leaves_the_schema_as_it_was(
    pg_url: str
) -> None:
    import psycopg

    base, _, schema = pg_url.partition("?schema=")
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    with pytest.raises(RuntimeError, match="unplugged"):
        CreditBank.create(pg_url, FailingKey.generate())
    assert leftovers(pg_url) == ([], [])


def test_a_new_ledger_is_one_whole_file_and_nothing_else(tmp_path: Path) -> None:
    CreditBank.create(tmp_path / "school.ledger", SigningKey.generate()).close()
    assert os.listdir(tmp_path) == ["school.ledger"]


def test_an_empty_file_at_the_path_is_replaced_but_a_ledger_is_never_overwritten(
    tmp_path: Path
) -> None:
    path = tmp_path / "school.ledger"
    path.write_bytes(b"")  # as mkstemp leaves it
    CreditBank.create(path, SigningKey.generate()).close()
    before = path.read_bytes()
    with pytest.raises(ConflictError, match="file exists"):
        CreditBank.create(path, SigningKey.generate())
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["school.ledger"]


def test_a_missing_folder_or_a_folder_given_as_the_path_is_an_unusable_ledger_error(
    tmp_path: Path
) -> None:
    for path in (tmp_path / "no such folder" / "school.ledger", tmp_path):
        with pytest.raises(UnusableLedgerError, match=re.escape(str(path))):
            CreditBank.create(path, SigningKey.generate())
    assert os.listdir(tmp_path) == []


def test_saving_a_key_over_an_existing_file_is_refused_and_keeps_the_file(
    tmp_path: Path
) -> None:
    path = tmp_path / "root.pem"
    first = SigningKey.generate()
    first.save(path, b"passphrase")
    before = path.read_bytes()
    with pytest.raises(KeyFileExistsError, match=re.escape(str(path))) as e:
        SigningKey.generate().save(path, b"passphrase")
    assert isinstance(e.value, UnusableLedgerError) and isinstance(e.value, FileExistsError)
    assert path.read_bytes() == before
    assert SigningKey.load(path, b"passphrase").key_id == first.key_id


def test_saving_a_key_where_no_file_can_be_written_is_an_unusable_ledger_error(
    tmp_path: Path
) -> None:
    with pytest.raises(UnusableLedgerError, match="no-folder"):
        SigningKey.generate().save(tmp_path / "no-folder" / "root.pem", b"passphrase")
