"""A school's program that embeds the library is type-checked against it (``py.typed``).

``mypy --strict`` runs on a small embedding program written as ``docs/usage.md`` writes one: the
correct program passes, and each deliberate mistake (a number for a learner id, a float for a
score, a method the bank does not have, a private key where a public one is wanted) is reported
on its own line.
"""

from __future__ import annotations

import re
from pathlib import Path

from mypy import api

PROGRAM = '''\
from datetime import date
from decimal import Decimal

from creditledger import CreditBank, Evidence, KeyEncryptionKey, PersonalData, SigningKey

root, school = SigningKey.generate(), SigningKey.generate()
with CreditBank.create("school.ledger", root, kek=KeyEncryptionKey.generate()) as bank:
    bank.register_institution(code="GZCC", name="广州城市职业学院", kind="school",
                              public_key=school.public_key, root_key=root)
    bank.define_programme(code="530302", name="会计", signer=school)
    bank.open_account(learner_id="S1", learner_type="student", programme_code="530302",
                      personal_data=PersonalData(name="陈晓敏"), signer=school)
    result = bank.recognise_course_result(
        learner_id="S1", course_code="KJ1101", term="2021-2022-1", score=Decimal(88),
        evidence=Evidence(description="exam"), signer=school, today=date(2022, 1, 20))
    credits: Decimal = result.credits
    total: Decimal = bank.account("S1").total_balance()
{mistakes}
'''

MISTAKES = {
    "learner_id": '    bank.balances(learner_id=1)',
    "score": '    bank.recognise_course_result(learner_id="S1", course_code="KJ1101", '
             'term="t", score=88.5, evidence=Evidence(description="x"), signer=school)',
    "no_such_method": '    bank.no_such_method()',
    "public_key": '    bank.register_institution(code="X", name="X", kind="school", '
                  'public_key=school, root_key=root)',
    "save": '    bank.save(result, signer=school)',
}


def _mypy(tmp_path: Path, mistakes: str) -> tuple[int, str]:
    program = tmp_path / "school_program.py"
    program.write_text(PROGRAM.format(mistakes=mistakes), encoding="utf-8")
    out, err, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "c"),
                                "--python-version", "3.11", str(program)])
    return status, out + err


def test_a_correct_embedding_program_passes_mypy_strict(tmp_path: Path) -> None:
    status, output = _mypy(tmp_path, "")
    assert status == 0, output


def test_mypy_strict_reports_each_deliberate_type_error_in_an_embedding_program(
    tmp_path: Path,
) -> None:
    status, output = _mypy(tmp_path, "\n".join(MISTAKES.values()))
    assert status == 1
    first = PROGRAM.count("\n", 0, PROGRAM.index("{mistakes}")) + 1
    flagged = {int(n) for n in re.findall(r"school_program\.py:(\d+): error", output)}
    for line, name in enumerate(MISTAKES, start=first):
        assert line in flagged, f"mypy missed the {name} mistake on line {line}:\n{output}"
