"""Shared pieces of the auditor toolkit tests: a real credit bank, the CLIs, bundle tampering."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

from eventsourcing.domain import Aggregate, event
from typer.testing import CliRunner

from creditledger.audit.checkpoints import publish_checkpoint
from creditledger.cli.app import app
from creditledger.crypto.keys import SigningKey
from tests.services.bank.fixtures import EVIDENCE, TODAY, World, make_world

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "docs" / "verify_bundle_standalone.py"
PASSPHRASE = "root passphrase"


class Tally(Aggregate):
    """A toy aggregate for histories of any shape."""

    @event("Started")
    def __init__(self, name: str) -> None:
        self.name = name

    @event("Added")
    def add(self, amount: int) -> None:
        pass


@dataclass
class Bank:
    """A credit bank file with achievements of S1 (one revoked), a checkpoint and key files."""

    world: World
    path: Path
    root_pem: Path
    root_pub: Path
    achievement_ids: list[str]


def build_bank(directory: Path) -> Bank:
    world = make_world(directory / "bank.ledger")
    bank = world.bank
    first = bank.recognise_course_result(learner_id="S1", course_code="KJ1101",
                                         term="2021-2022-1", score=Decimal(80),
                                         evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
    second = bank.recognise_course_result(learner_id="S1", course_code="KJ2103",
                                          term="2021-2022-2", score=Decimal(91),
                                          evidence=EVIDENCE, signer=world.gzcc, today=TODAY)
    bank.recognise_course_result(learner_id="S2", course_code="KJ1101", term="2021-2022-1",
                                 score=Decimal(70), evidence=EVIDENCE, signer=world.gzcc,
                                 today=TODAY)
    bank.revoke(first.id, reason="error", note="recorded twice", signer=world.gzcc, today=TODAY)
    bank.close()
    root_pem = directory / "root.pem"
    world.root.save(root_pem, PASSPHRASE.encode())
    root_pub = directory / "root.pub"
    root_pub.write_text(world.root.public_key.to_base64())
    publish_checkpoint(world.path, [world.root])
    return Bank(world, world.path, root_pem, root_pub, [first.id.hex, second.id.hex])


def cli(*args: str, env: dict[str, str] | None = None) -> Any:
    """Run an auditor command in process: the result has exit_code, stdout and stderr."""
    runner = CliRunner()
    return runner.invoke(app, list(args), env={"COLUMNS": "200", **(env or {})})


def standalone(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the standalone verifier as an employer would: a plain subprocess."""
    return subprocess.run([sys.executable, str(STANDALONE), *args], capture_output=True,
                          text=True, timeout=60)


def load_standalone() -> ModuleType:
    spec = importlib.util.spec_from_file_location("verify_bundle_standalone", STANDALONE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def other_key() -> SigningKey:
    return SigningKey.generate()
