"""Setting up a credit bank from the command line, without writing Python: ``init`` (a new
ledger and its root key), ``register-institution`` (the root's), and a school's catalog and
accounts: ``define-programme``, ``define-course``, ``open-account``, ``enrol``.

Each is a thin shell over the :class:`~creditledger.services.CreditBank` command of the same
name (``docs/usage.md``): the library validates every field and writes one signed commit, or
nothing; an error is one line on stderr and exit 2. ``docs/cli.md`` walks through a school's day.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from creditledger.cli.common import (
    PASSPHRASE_ENV,
    LedgerArgument,
    PassphraseEnvOption,
    decimal_value,
    done,
    fail,
    key_option,
    new_passphrase,
    open_bank,
    public_key,
    public_key_option,
    school_kek,
    signing_key,
)
from creditledger.crypto.keys import SigningKey
from creditledger.crypto.sealing import KeyEncryptionKey
from creditledger.domain import PersonalData
from creditledger.domain.validation import validate_time_zone
from creditledger.errors import CreditLedgerError, ValidationError
from creditledger.services import CreditBank

SignerKey = Annotated[Path, key_option("The signing key (the institution's, or a staff key "
                                       "in a role that may do this)")]
CodeOption = Annotated[str, typer.Option("--code", metavar="CODE", help="Its code.")]
NameOption = Annotated[str, typer.Option("--name", metavar="NAME", help="Its name.")]


def register(app: typer.Typer) -> None:
    """Add the set-up commands to ``app``."""
    app.command()(init)
    app.command("register-institution")(register_institution)
    app.command("define-programme")(define_programme)
    app.command("define-course")(define_course)
    app.command("open-account")(open_account)
    app.command()(enrol)


def init(
    ledger: LedgerArgument,
    key: Annotated[Path, typer.Option(
        "--key", metavar="ROOT.pem", help="Where to write the new root's PRIVATE key "
        "(encrypted with the passphrase); its public key goes beside it as ROOT.pub.")],
    ledger_id: Annotated[str | None, typer.Option(
        "--ledger-id", metavar="ID", help="The ledger's id (default: a new UUID).")] = None,
    time_zone: Annotated[str | None, typer.Option(
        "--time-zone", metavar="ZONE", help="The school's time zone, an IANA name such as "
        "Asia/Shanghai: every 'today' of the ledger is the date there (default: this "
        "machine's).")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
    kek: Annotated[Path | None, typer.Option(
        "--kek", metavar="KEK.key", help="The school's key-encryption key file: written anew "
        "if missing (keep it apart from the ledger and its backups); else "
        "$CREDITLEDGER_KEK_FILE or $CREDITLEDGER_KEK_PASSPHRASE.")] = None,
) -> None:
    """Create a new credit bank ledger and its root key (the bank operator's: it registers
    institutions). Personal data is sealed under per-learner keys (docs/privacy.md). Refuses
    to overwrite a ledger or a key file."""
    if time_zone is not None:
        try:
            validate_time_zone(time_zone, "--time-zone")
        except CreditLedgerError as e:
            fail(str(e))
    public = key.with_suffix(".pub")
    for path in (key, public, *([] if _is_url(ledger) else [Path(ledger)])):
        if path.exists():
            fail(f"{path} exists; refusing to overwrite it")
    try:
        root = SigningKey.generate()
        root.save(key, new_passphrase(passphrase_env))
        public.write_text(root.public_key.to_base64() + "\n", encoding="ascii")
    except (CreditLedgerError, OSError) as e:
        _remove(key, public)
        fail(str(e))
    try:
        if kek is not None and not kek.exists():
            KeyEncryptionKey.generate().save(kek)
        with CreditBank.create(ledger, root, ledger_id=ledger_id, time_zone=time_zone,
                               kek=school_kek(kek)) as bank:
            made, zone = bank.ledger_id, bank.time_zone
    except CreditLedgerError as e:
        _remove(key, public)  # no root key without its ledger
        fail(str(e))
    done(f"created ledger {ledger} (id {made}, time zone {zone}); root key {root.key_id}: "
         f"private key {key}, public key {public}")


def _is_url(ledger: str) -> bool:
    return ledger.startswith(("postgresql://", "postgres://"))


def _remove(*paths: Path) -> None:
    for path in paths:
        path.unlink(missing_ok=True)


def register_institution(
    ledger: LedgerArgument,
    key: Annotated[Path, key_option("The ledger's root key")],
    code: CodeOption,
    name: NameOption,
    kind: Annotated[str, typer.Option(
        "--kind", metavar="KIND", help="school, training_organisation or "
        "alliance_secretariat (or 学校, 培训评价组织, 联盟秘书处).")],
    institution_key: Annotated[Path, public_key_option("The institution's own key")],
    credit_system: Annotated[bool, typer.Option(
        "--credit-system", help="The school runs a credit system (学分制).")] = False,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Register an institution and its key (signed by the root key). The institution makes its
    key with keygen and hands over the .pub file; its private key never leaves it."""
    try:
        root = signing_key(key, passphrase_env)
        institution_public = public_key(institution_key)
        with open_bank(ledger) as bank:
            inst = bank.register_institution(code=code, name=name, kind=kind,
                                             public_key=institution_public, root_key=root,
                                             has_credit_system=credit_system)
    except CreditLedgerError as e:
        fail(str(e))
    done(f"registered {inst.kind.value} {inst.code} ({inst.name}) with key "
         f"{institution_public.key_id}")


def define_programme(
    ledger: LedgerArgument,
    key: SignerKey,
    code: CodeOption,
    name: NameOption,
    requires: Annotated[list[str] | None, typer.Option(
        "--requires", metavar="CATEGORY=CREDITS", help="Credits the programme requires in a "
        "category, e.g. major_core=40 (repeatable).")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """A school defines one of its programmes (专业) and the credits it requires."""
    try:
        required = _requirements(requires or [])
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            programme = bank.define_programme(code=code, name=name, required_credits=required,
                                              signer=signer)
    except CreditLedgerError as e:
        fail(str(e))
    done(f"defined programme {programme.institution}/{programme.code} ({programme.name})")


def _requirements(given: list[str]) -> dict[str, Decimal]:
    required: dict[str, Decimal] = {}
    for item in given:
        category, sep, credits = item.partition("=")
        if not sep:
            raise ValidationError("requires", f"{item!r} is not CATEGORY=CREDITS")
        required[category.strip()] = decimal_value(credits, "requires")
    return required


def define_course(
    ledger: LedgerArgument,
    key: SignerKey,
    code: CodeOption,
    name: NameOption,
    category: Annotated[str, typer.Option("--category", metavar="CATEGORY", help=(
        "public_basic, major_basic, major_core or major_elective (or 公共基础...)."))],
    nature: Annotated[str, typer.Option("--nature", metavar="TEXT",
                                        help="课程性质, e.g. 必修 or 选修.")],
    course_type: Annotated[str, typer.Option("--type", metavar="TEXT",
                                             help="课程类型, e.g. 理论, 理实一体, 实践.")],
    attribute: Annotated[str, typer.Option("--attribute", metavar="TEXT",
                                           help="课程属性, e.g. A类, B类, C类.")],
    theory_hours: Annotated[int, typer.Option("--theory-hours", metavar="N",
                                              help="Theory hours (理论学时).")],
    practice_hours: Annotated[int, typer.Option("--practice-hours", metavar="N",
                                                help="Practice hours (实践学时).")],
    difficulty: Annotated[str, typer.Option("--difficulty", metavar="COEFFICIENT",
                                            help="Difficulty coefficient, e.g. 1.0.")],
    assessment: Annotated[str, typer.Option(
        "--assessment", metavar="METHOD", help="exam, assessment or evaluation (考试, 考查, "
        "评价).")],
    pass_mark: Annotated[str, typer.Option("--pass-mark", metavar="SCORE",
                                           help="The pass mark.")] = "60",
    programmes: Annotated[list[str] | None, typer.Option(
        "--programme", metavar="CODE", help="Add it to this programme (repeatable).")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """A school defines a course (R1): its credits follow from its hours and difficulty
    (16 hours a credit, rounded down to half credits)."""
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            course = bank.define_course(
                code=code, name=name, category=category, nature=nature,
                course_type=course_type, attribute=attribute, theory_hours=theory_hours,
                practice_hours=practice_hours,
                difficulty=decimal_value(difficulty, "difficulty"), assessment_method=assessment,
                pass_mark=decimal_value(pass_mark, "pass_mark"), programmes=programmes or (),
                signer=signer)
    except CreditLedgerError as e:
        fail(str(e))
    done(f"defined course {course.owner}/{course.code} ({course.name}): {course.credits} "
         f"credits, {course.category.value}")


def open_account(
    ledger: LedgerArgument,
    key: SignerKey,
    learner: Annotated[str, typer.Option("--learner", metavar="ID",
                                         help="The learner's id (your system's, opaque).")],
    learner_type: Annotated[str, typer.Option(
        "--type", metavar="TYPE", help="student or society_member (在校生, 社会成员).")],
    name: Annotated[str, typer.Option("--name", metavar="NAME",
                                      help="The learner's name (personal data).")],
    programme: Annotated[str | None, typer.Option(
        "--programme", metavar="CODE", help="The programme (a student needs one).")] = None,
    id_document_type: Annotated[str | None, typer.Option(
        "--id-document-type", metavar="TEXT", help="e.g. 居民身份证.")] = None,
    id_document_number: Annotated[str | None, typer.Option(
        "--id-document-number", metavar="TEXT")] = None,
    contact: Annotated[str | None, typer.Option("--contact", metavar="TEXT")] = None,
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """Open a personal learning account (个人学习账号, R2) at the signer's school."""
    personal = PersonalData(name=name, id_document_type=id_document_type,
                            id_document_number=id_document_number, contact=contact)
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            account = bank.open_account(learner_id=learner, learner_type=learner_type,
                                        personal_data=personal, programme_code=programme,
                                        signer=signer)
    except CreditLedgerError as e:
        fail(str(e))
    where = f" at {account.home_institution}" if account.home_institution else ""
    done(f"opened the account of {account.learner_id} ({account.learner_type.value}){where}")


def enrol(
    ledger: LedgerArgument,
    key: SignerKey,
    learner: Annotated[str, typer.Option("--learner", metavar="ID", help="The learner's id.")],
    programme: Annotated[str, typer.Option("--programme", metavar="CODE",
                                           help="One of the signer's school's programmes.")],
    passphrase_env: PassphraseEnvOption = PASSPHRASE_ENV,
) -> None:
    """A school admits a learner (a member of society, say: R21) into one of its programmes."""
    try:
        signer = signing_key(key, passphrase_env)
        with open_bank(ledger) as bank:
            account = bank.enrol(learner_id=learner, programme_code=programme, signer=signer)
    except CreditLedgerError as e:
        fail(str(e))
    done(f"enrolled {account.learner_id} in {account.home_institution}/{programme}")
