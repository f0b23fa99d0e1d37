"""Certificates issued before status lists (document version 1: the alliance as issuer, a
chained pair of eddsa-jcs-2022 proofs without @context) still export byte for byte from the
facts and proofs the ledger kept, and still verify; a change still fails. The ledger is the one
written by the code of 0.1 (tests/data/ledger-0.1)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from creditledger.audit.credential import dumps, parse_credential, verify_credential
from creditledger.errors import InvalidCredentialError
from creditledger.services import CreditBank
from tests.services.bank.fixtures import KEK

OLD = Path(__file__).resolve().parents[2] / "data" / "ledger-0.1" / "demo.ledger"
ISSUED = "creditledger.domain.alliance.certificate:CourseCertificate.Issued"


def test_version_1_certificates_still_verify_against_their_ledger(tmp_path: Path) -> None:
    ledger = tmp_path / "old.ledger"
    shutil.copyfile(OLD, ledger)
    with sqlite3.connect(ledger) as conn:
        ids = [UUID(oid) for (oid,) in conn.execute(
            "SELECT originator_id FROM stored_events WHERE topic=?", (ISSUED,))]
    assert len(ids) == 2
    with CreditBank.open(ledger, kek=KEK) as bank:
        for certificate_id in ids:
            document = bank.export_course_certificate(certificate_id)
            assert [p["cryptosuite"] for p in document["proof"]] == ["eddsa-jcs-2022"] * 2
            verified = bank.check_course_certificate(document)
            assert verified.document_version == 1 and verified.anchored
            assert verify_credential(parse_credential(dumps(document))).certificate_id == \
                certificate_id
            changed = dumps(document).replace(b'"creditledger:hours":', b'"creditledger:hours":1')
            with pytest.raises(InvalidCredentialError, match="does not match"):
                verify_credential(parse_credential(changed))
