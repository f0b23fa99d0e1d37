"""The canary of issue 17: a learner with unique personal data, written, proven, erased; then
every byte that could still hold it is searched.

:func:`play` runs the whole story on a ledger (a file or a PostgreSQL schema) and returns what
the scans need: the canary's secrets (every personal field of both versions, and its data key
as raw bytes, base64 and hex, and wrapped), its sealed values as the events hold them, the keys
the bank's pool had reserved and given to no one, and every document produced after the erasure.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import psycopg
from psycopg import sql

from creditledger.audit.bundle import build_bundle
from creditledger.audit.bundle_verify import verify_bundle
from creditledger.audit.checkpoints import (
    prove_consistency,
    publish_checkpoint,
    verify_consistency_file,
)
from creditledger.domain import PersonalData, learner_account_id
from creditledger.services.core import ledger_of
from creditledger.services.privacy import ErasureReceipt
from creditledger.store.keystore import keys_path_for
from tests.services.bank.fixtures import EVIDENCE, TODAY, World, make_world
from tests.store.pg_ledgers import schema_of

CANARY = PersonalData(name="甄金丝雀七号", id_document_type="护照",
                      id_document_number="CANARY7Q2X9Z", contact="canary-7q2x9z@example.invalid")
CORRECTED = PersonalData(name="甄金丝雀八号", id_document_type="护照",
                         id_document_number="CANARY8W4K1M", contact="canary-8w4k1m@example.invalid")
LEARNER = "C1"


@dataclass
class Story:
    """What the canary left: its secrets, the erasure's receipts, the documents made after."""

    world: World
    views: Path
    secrets: dict[str, bytes] = field(default_factory=dict)
    receipts: list[ErasureReceipt] = field(default_factory=list)
    documents: dict[str, bytes] = field(default_factory=dict)
    sealed: list[str] = field(default_factory=list)
    reserved: list[str] = field(default_factory=list)

    def found_in(self, data: bytes) -> list[str]:
        """The names of the secrets that occur in ``data``."""
        return [name for name, secret in self.secrets.items() if secret in data]


def secrets_of(data_key: bytes, wrapped: bytes) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for version, person in (("opened", CANARY), ("corrected", CORRECTED)):
        for name in ("name", "id_document_number", "contact"):
            text = getattr(person, name)
            found[f"{version} {name}"] = text.encode()
            found[f"{version} {name} (json)"] = json.dumps(text).encode()  # \\u escapes
    found["data key"] = data_key
    found["data key (base64)"] = base64.b64encode(data_key)
    found["data key (hex)"] = data_key.hex().encode()
    found["wrapped data key"] = wrapped
    return found


def play(target: str | Path, folder: Path) -> Story:
    """Open the canary's account, record achievements, correct its data, build views,
    checkpoint and prove; erase (twice); then make every document again."""
    world = make_world(target, folder)
    story = Story(world, folder / "views.db")
    bank, school = world.bank, world.gzcc
    bank.open_account(learner_id=LEARNER, learner_type="student", personal_data=CANARY,
                      programme_code="530302", signer=school)
    for course in ("KJ1101", "KJ2103"):
        bank.recognise_course_result(learner_id=LEARNER, course_code=course, term="2021-2022-2",
                                     score=Decimal(81), evidence=EVIDENCE, signer=school,
                                     today=TODAY)
    bank.correct_personal_data(learner_id=LEARNER, personal_data=CORRECTED, signer=school)
    assert bank.personal_data(LEARNER) == CORRECTED
    _catch_up(story)
    before = publish_checkpoint(str(target), [world.root])
    build_bundle(target, LEARNER)  # proven before the erasure, as a school would have
    keys = ledger_of(bank).personal
    assert keys is not None
    account = learner_account_id(LEARNER).hex
    key_ids = keys.key_ids(account)
    assert len(key_ids) == 1  # the correction is sealed under the learner's same key
    data_key, wrapped = keys.data_key(account), keys.store.wrapped_key(key_ids[0])
    assert data_key is not None and wrapped is not None and wrapped[0] is not None
    story.secrets = secrets_of(data_key, wrapped[0])
    story.sealed = ledger_of(bank).sealed_values_of(account)
    assert len(story.sealed) == 2  # opened, corrected
    story.reserved = keys.reserved
    assert key_ids[0] not in story.reserved and len(story.reserved) > 50
    for _ in range(2):
        story.receipts.append(bank.erase_personal_data(
            LEARNER, reason="consent withdrawn (撤回同意)", legal_basis="PIPL Art. 47",
            signer=school))
    _catch_up(story)
    after = publish_checkpoint(str(target), [world.root])
    story.documents = _documents(story, target, before.note, after.note)
    return story


def _catch_up(story: Story) -> None:
    projector = story.world.bank.read_models(story.views)
    try:
        projector.catch_up()
    finally:
        projector.close()


def _documents(story: Story, target: str | Path, old: str, new: str) -> dict[str, bytes]:
    """Every document of the canary and the ledger made after the erasure, each checked."""
    bank, root = story.world.bank, story.world.root.public_key
    canary = build_bundle(target, LEARNER)
    other = build_bundle(target, "S1")
    for bundle in (canary, other):
        assert verify_bundle(bundle, root).learner_id == bundle.learner_id
    proof = prove_consistency(target, old, new)
    verify_consistency_file(proof, root)
    clr = bank.export_clr(LEARNER, signer=story.world.gzcc)
    lines = bank.transcript(LEARNER, views=story.views)
    return {"canary bundle": canary.to_json(), "other bundle": other.to_json(),
            "consistency proof": proof.to_json(),
            "clr": json.dumps(clr, ensure_ascii=False).encode(),
            "transcript": repr(lines).encode(),
            "receipt": repr(story.receipts[0]).encode()}


def live_key_ids(target: str | Path) -> list[str]:
    """The ids of every data key the ledger's key store holds (not destroyed), read from its
    file or table directly."""
    query = "SELECT key_id FROM {0} WHERE wrapped IS NOT NULL ORDER BY key_id"
    if isinstance(target, Path):
        with sqlite3.connect(keys_path_for(target)) as conn:
            return [r[0] for r in conn.execute(query.format("data_keys_by_id"))]
    table = sql.Identifier(schema_of(target), "data_keys_by_id")
    with psycopg.connect(target.split("?", 1)[0]) as pg:
        return [r[0] for r in pg.execute(sql.SQL(query).format(table))]
