"""Recording achievements from the command line (学习成果认定): ``record course-result``,
``record certificate``, ``record training``, ``record online-course``, and changing what was
recorded the ledger's way: ``correct`` (成绩更正, a course result's score) and ``revoke`` (撤销,
a compensating entry). Each is a thin shell over the :class:`~creditledger.services.CreditBank`
command it names.

``record`` prints the new achievement's id alone on stdout (so that ``ID=$(creditledger record
...)`` keeps it for ``correct`` or ``revoke``) and what it recorded on stderr. Recording the same
achievement again writes nothing and prints the same id.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    date_value,
    decimal_value,
    done,
    fail,
    key_option,
    note,
    open_bank,
    optional_date,
    signing_key,
    uuid_value,
)
from creditledger.crypto.keys import SigningKey
from creditledger.domain import Achievement, Evidence, RuleRef
from creditledger.errors import CreditLedgerError
from creditledger.services import CreditBank

record = typer.Typer(
    name="record", no_args_is_help=True,
    help="Record an achievement (学习成果认定) and credit it, in one signed commit: a course "
    "result, a 1+X certificate, a training record or an online course. Prints the new "
    "achievement's id on stdout.")

SignerKey = Annotated[Path, key_option("The certifying institution's key (its own, or a staff "
                                       "key in a role that may record)")]
LearnerOption = Annotated[str, typer.Option("--learner", metavar="ID", help="The learner's id.")]
EvidenceOption = Annotated[str, typer.Option(
    "--evidence", metavar="TEXT", help="What it rests on (佐证材料), e.g. 'exam sheet'.")]
EvidenceRefOption = Annotated[str | None, typer.Option(
    "--evidence-ref", metavar="REF", help="Where the evidence is kept.")]
EvidenceHashOption = Annotated[str | None, typer.Option(
    "--evidence-sha256", metavar="HEX", help="The evidence document's SHA-256 (lowercase hex).")]
OnOption = Annotated[str | None, typer.Option(
    "--on", metavar="DATE", help="The day it is recorded (default today), e.g. 2022-07-15.")]
CreditsOption = Annotated[str, typer.Option("--credits", metavar="N", help="Credits granted.")]
CategoryOption = Annotated[str, typer.Option(
    "--category", metavar="CATEGORY",
    help="public_basic, major_basic, major_core or major_elective.")]
RuleOption = Annotated[str, typer.Option(
    "--rule", metavar="RULE_ID", help="The rule that grants the credits, e.g. "
    "conversion/training-hours.")]
RuleVersionOption = Annotated[int, typer.Option("--rule-version", metavar="N",
                                                help="The rule's version.")]


def register(app: typer.Typer) -> None:
    """Add ``record``, ``correct`` and ``revoke`` to ``app``."""
    app.add_typer(record)
    app.command()(correct)
    app.command()(revoke)


def _evidence(text: str, reference: str | None, sha256: str | None) -> Evidence:
    return Evidence(description=text, reference=reference, sha256=sha256)


def _recorded(ledger: str, key: Path, passphrase_env: str,
              command: Callable[[CreditBank, SigningKey], Achievement]) -> None:
    """Run one recognition command, then print the achievement's id (stdout) and what it
    recorded (stderr)."""
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            before = bank.last_position()
            achievement = command(bank, signer)
            written = bank.last_position() > before
    except CreditLedgerError as e:
        fail(str(e))
    r = achievement.record
    score = f", score {r.course.score}" if r.course and r.course.score is not None else ""
    note(f"{'recorded' if written else 'already recorded (nothing written):'} {r.kind.value} "
         f"({r.kind.zh}) of {r.learner_id}: {r.title}{score}, {r.credits} credits "
         f"({r.category.value}), certified by {r.certified_by}")
    typer.echo(str(achievement.id))


@record.command("course-result")
def course_result(
    ledger: LedgerArgument,
    key: SignerKey,
    learner: LearnerOption,
    course: Annotated[str, typer.Option("--course", metavar="CODE", help="The course code.")],
    term: Annotated[str, typer.Option("--term", metavar="TERM", help="e.g. 2021-2022-2.")],
    evidence: EvidenceOption,
    score: Annotated[str | None, typer.Option(
        "--score", metavar="SCORE", help="The score (a pass; none for a pass without one).")
    ] = None,
    course_owner: Annotated[str | None, typer.Option(
        "--course-owner", metavar="CODE", help="The school that owns the course (default: "
        "the signer's).")] = None,
    evidence_ref: EvidenceRefOption = None,
    evidence_sha256: EvidenceHashOption = None,
    on: OnOption = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """A course result (课程成绩, R3), recognised by the school that owns the course."""
    proof = _evidence(evidence, evidence_ref, evidence_sha256)
    _recorded(ledger, key, passphrase_env, lambda bank, signer: bank.recognise_course_result(
        learner_id=learner, course_code=course, course_owner=course_owner, term=term,
        score=None if score is None else decimal_value(score, "score"), evidence=proof,
        signer=signer, today=optional_date(on, "on")))


@record.command("certificate")
def certificate(
    ledger: LedgerArgument,
    key: SignerKey,
    learner: LearnerOption,
    code: Annotated[str, typer.Option("--certificate", metavar="CODE",
                                      help="The certificate's code in the catalog.")],
    number: Annotated[str, typer.Option("--number", metavar="NUMBER",
                                        help="The certificate's number.")],
    level: Annotated[str, typer.Option("--level", metavar="LEVEL",
                                       help="elementary, intermediate or advanced.")],
    issued_on: Annotated[str, typer.Option("--issued-on", metavar="DATE",
                                           help="When it was issued.")],
    credits: CreditsOption,
    category: CategoryOption,
    rule: RuleOption,
    evidence: EvidenceOption,
    rule_version: RuleVersionOption = 1,
    expires_on: Annotated[str | None, typer.Option("--expires-on", metavar="DATE",
                                                   help="When it expires.")] = None,
    method: Annotated[str, typer.Option("--method", metavar="METHOD", help=(
        "matching, comparison or conversion (对接, 比对, 折算)."))] = "matching",
    evidence_ref: EvidenceRefOption = None,
    evidence_sha256: EvidenceHashOption = None,
    on: OnOption = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """A 1+X vocational skill level certificate (职业技能等级证书, R5), recognised by the training
    & evaluation organisation that issued it."""
    proof = _evidence(evidence, evidence_ref, evidence_sha256)
    _recorded(ledger, key, passphrase_env, lambda bank, signer: bank.recognise_certificate(
        learner_id=learner, certificate_code=code, number=number, level=level,
        issued_on=date_value(issued_on, "issued_on"),
        expires_on=optional_date(expires_on, "expires_on"),
        credits=decimal_value(credits, "credits"), category=category,
        rule=RuleRef(rule_id=rule, version=rule_version), evidence=proof, signer=signer,
        method=method, today=optional_date(on, "on")))


def _learning_record(kind: str) -> Callable[..., None]:
    """``record training`` and ``record online-course``: the same command, of another kind."""

    def command(
        ledger: LedgerArgument,
        key: SignerKey,
        learner: LearnerOption,
        title: Annotated[str, typer.Option("--title", metavar="TEXT", help="What was learnt.")],
        reference: Annotated[str, typer.Option("--reference", metavar="REF",
                                               help="The issuer's reference for it.")],
        completed_on: Annotated[str, typer.Option("--completed-on", metavar="DATE",
                                                  help="When it was completed.")],
        credits: CreditsOption,
        category: CategoryOption,
        rule: RuleOption,
        evidence: EvidenceOption,
        rule_version: RuleVersionOption = 1,
        method: Annotated[str, typer.Option("--method", metavar="METHOD", help=(
            "matching, comparison or conversion (对接, 比对, 折算)."))] = "conversion",
        hours: Annotated[int | None, typer.Option("--hours", metavar="N",
                                                  help="Hours of learning.")] = None,
        score: Annotated[str | None, typer.Option("--score", metavar="SCORE",
                                                  help="The score, if it had one.")] = None,
        evidence_ref: EvidenceRefOption = None,
        evidence_sha256: EvidenceHashOption = None,
        on: OnOption = None,
        passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    ) -> None:
        proof = _evidence(evidence, evidence_ref, evidence_sha256)

        def recognise(bank: CreditBank, signer: SigningKey) -> Achievement:
            return bank.recognise_learning_record(
                kind=kind, learner_id=learner, title=title, reference=reference,
                completed_on=date_value(completed_on, "completed_on"), method=method,
                credits=decimal_value(credits, "credits"), category=category,
                rule=RuleRef(rule_id=rule, version=rule_version), evidence=proof, hours=hours,
                score=None if score is None else decimal_value(score, "score"), signer=signer,
                today=optional_date(on, "on"))

        _recorded(ledger, key, passphrase_env, recognise)

    return command


record.command("training", help=(
    "A training record (职业培训, R4), recognised by the institution that gave the training, "
    "its credits by a rule (折算)."))(_learning_record("training_record"))
record.command("online-course", help=(
    "An online course (在线课程, R4), recognised by the institution that offered it, its "
    "credits by a rule."))(_learning_record("online_course"))


AchievementArgument = Annotated[str, typer.Argument(
    metavar="ACHIEVEMENT_ID", help="The achievement's id (record prints it; so do "
    "transcript --format csv and json).")]


def correct(
    ledger: LedgerArgument,
    achievement: AchievementArgument,
    key: SignerKey,
    score: Annotated[str, typer.Option("--score", metavar="SCORE", help="The right score.")],
    reason: Annotated[str, typer.Option("--reason", metavar="TEXT",
                                        help="Why it is corrected (kept in the ledger).")],
    on: OnOption = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Correct a recorded course result's score (成绩更正): the old score and the reason stay in
    its history; conversions resting on it are reversed. A failing score is refused: revoke."""
    try:
        achievement_id = uuid_value(achievement, "achievement_id")
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            corrected = bank.correct_result(
                achievement_id, score=decimal_value(score, "score"), reason=reason,
                signer=signer, today=optional_date(on, "on"))
    except CreditLedgerError as e:
        fail(str(e))
    course = corrected.record.course
    done(f"corrected {corrected.id}: {corrected.record.title}, score "
         f"{_previous_score(corrected)} -> {course.score if course else score} ({reason})")


def _previous_score(achievement: Achievement) -> str:
    corrections = getattr(achievement, "corrections", ())
    return str(corrections[-1].previous_score) if corrections else "?"


def revoke(
    ledger: LedgerArgument,
    achievement: AchievementArgument,
    key: SignerKey,
    reason: Annotated[str, typer.Option(
        "--reason", metavar="REASON",
        help="fraud, error or appeal_upheld (舞弊, 差错, 申诉成立).")],
    note_text: Annotated[str, typer.Option(
        "--note", metavar="TEXT", help="What happened (kept in the ledger).")],
    on: OnOption = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Revoke an achievement (撤销): a compensating entry reverses its credits, and every
    conversion and exemption resting on it, in one commit; nothing recorded is edited."""
    try:
        achievement_id = uuid_value(achievement, "achievement_id")
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            revoked = bank.revoke(achievement_id, reason=reason, note=note_text, signer=signer,
                                  today=optional_date(on, "on"))
    except CreditLedgerError as e:
        fail(str(e))
    r = revoked.record
    done(f"revoked {revoked.id} ({reason}): {r.title}, {r.credits} credits of {r.learner_id} "
         "reversed")
