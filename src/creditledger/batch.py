"""Batch import (数据批处理): learners, courses, certificates and achievements from CSV or JSON.

Every row is validated before anything is written: a first pass runs every row's command in a
*dry-run* unit of work (so rows see the rows before them, e.g. a learner then their results),
collecting each bad row with its line number, field and problem. With any bad row nothing is
written — unless ``skip_bad`` names a rejects file, in which case the good rows are written and
the bad ones go to that CSV. The second pass writes the good rows in units of ``commit_size``
rows, each one signed commit: the events the first pass decided, as long as nothing else has
been written to the ledger meanwhile (else the rows' commands run again, see :class:`_Plan`).
Re-running the same file is idempotent: what is already recorded identically is skipped; what
conflicts is a bad row. A row that another writer makes conflicting *during* the write pass
(after the dry run accepted it) raises its command's typed error; the chunks before it stay
committed, and re-running the file completes the rest.

Files are UTF-8 (a BOM is accepted), with Chinese names as they are. A CSV file holds one record
type (``record_type`` argument or a ``type`` column); a JSON file is an array of objects and a
``.jsonl`` file one object per line, each with a ``type`` unless ``record_type`` is given. The
columns are the fields of :class:`LearnerRow`, :class:`CourseRow`, :class:`CertificateRow` and
:class:`AchievementRow`; list fields (``programmes``, ``levels``, ``majors``) are separated by
``;``. Empty cells mean "not given".
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import RecordConflictError

from creditledger.bank import CreditBank
from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Evidence,
    PersonalData,
    RuleRef,
    certificate_id,
    course_id,
    learner_account_id,
)
from creditledger.errors import ConflictError, CreditLedgerError, ValidationError
from creditledger.ledger import UnitOfWork

RECORD_TYPES = ("learner", "course", "certificate", "achievement")
Progress = Callable[[int, int], None]


class LearnerRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A learner account: ``learner_type`` is ``student`` (needs ``programme_code``) or
    ``society_member``. ``name`` and the id document are personal data."""

    learner_id: str
    learner_type: str
    name: str
    id_document_type: str | None = None
    id_document_number: str | None = None
    contact: str | None = None
    programme_code: str | None = None


class CourseRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A course of the importing school; ``programmes`` lists programme codes (``;``)."""

    code: str
    name: str
    category: str
    nature: str
    course_type: str
    attribute: str
    theory_hours: int
    practice_hours: int
    difficulty: Decimal
    assessment_method: str
    pass_mark: Decimal = Decimal(60)
    programmes: str = ""


class CertificateRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A certificate of the importing training & evaluation organisation."""

    code: str
    name: str
    levels: str
    name_en: str = ""
    majors: str = ""


class AchievementRow(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """An achievement. By ``kind``:

    - ``course_result``: ``course_code``, ``term``, ``score`` (and ``course_owner``);
    - ``x_certificate``: ``certificate_code``, ``number``, ``level``, ``issued_on``,
      ``expires_on``, ``credits``, ``category``, ``rule_id``, ``rule_version``;
    - ``training_record`` / ``online_course`` / ``qualification_certificate`` / ``diploma``:
      ``title``, ``reference``, ``completed_on``, ``method``, ``credits``, ``category``,
      ``rule_id``, ``rule_version``, ``hours``, ``score``.

    Every kind takes ``evidence_description`` (and ``evidence_reference``,
    ``evidence_sha256``) and an optional ``recognised_on`` date (default: today).
    """

    kind: str
    learner_id: str
    evidence_description: str
    evidence_reference: str | None = None
    evidence_sha256: str | None = None
    recognised_on: date | None = None
    course_code: str | None = None
    course_owner: str | None = None
    term: str | None = None
    score: Decimal | None = None
    certificate_code: str | None = None
    number: str | None = None
    level: str | None = None
    issued_on: date | None = None
    expires_on: date | None = None
    credits: Decimal | None = None
    category: str | None = None
    rule_id: str | None = None
    rule_version: int | None = None
    title: str | None = None
    reference: str | None = None
    completed_on: date | None = None
    method: str | None = None
    hours: int | None = None


ROW_TYPES: dict[str, type[msgspec.Struct]] = {
    "learner": LearnerRow, "course": CourseRow, "certificate": CertificateRow,
    "achievement": AchievementRow,
}


class RowError(msgspec.Struct, frozen=True, kw_only=True):
    """A bad row: where (line), which field, what is wrong, and the row as read."""

    line: int
    field: str
    problem: str
    row: dict[str, Any]


class ImportReport(msgspec.Struct, kw_only=True):
    """What an import did. ``written`` rows changed the ledger; ``unchanged`` were already there."""

    rows: int = 0
    written: int = 0
    unchanged: int = 0
    rejected: list[RowError] = msgspec.field(default_factory=list)
    commits: int = 0
    rejects_file: str | None = None


class ImportRejectedError(ValidationError):
    """The file has bad rows and no rejects file was given: nothing was written."""

    def __init__(self, report: ImportReport) -> None:
        first = report.rejected[0]
        super().__init__(first.field, f"line {first.line}: {first.problem} "
                                      f"({len(report.rejected)} bad rows; nothing written)")
        self.report = report


@dataclass
class _Row:
    line: int
    type: str
    raw: dict[str, Any]
    parsed: Any = field(default=None)


# -- reading -------------------------------------------------------------------------------------


def read_rows(path: str | Path, record_type: str | None = None) -> list[_Row]:
    """Read a CSV, JSON or JSON Lines file into rows with their line numbers."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise ValidationError("file", f"cannot read {path} as UTF-8: {e}") from e
    if p.suffix.lower() == ".json":
        items = _decode_json(text)
        rows = [(i, item) for i, item in enumerate(items, start=1)]
    elif p.suffix.lower() == ".jsonl":
        rows = [(n, _decode_json(line)) for n, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    else:
        reader = csv.DictReader(text.splitlines())
        rows = [(reader.line_num, dict(r)) for r in reader]
    return [_row(line, item, record_type) for line, item in rows]


def _decode_json(text: str) -> Any:
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError as e:
        raise ValidationError("file", f"not valid JSON: {e}") from e


def _row(line: int, item: Any, record_type: str | None) -> _Row:
    if not isinstance(item, dict):
        return _Row(line, "?", {"value": item})
    raw = {k: v for k, v in item.items() if v not in ("", None)}
    kind = str(raw.pop("type", record_type or ""))
    return _Row(line, record_type or kind, raw)


# -- commands --------------------------------------------------------------------------------------


def _parse(row: _Row) -> Any:
    cls = ROW_TYPES.get(row.type)
    if cls is None:
        raise ValidationError("type", f"unknown record type {row.type!r}; one of {RECORD_TYPES}")
    try:
        return msgspec.convert(row.raw, type=cls, strict=False)
    except msgspec.ValidationError as e:
        raise _field_error(str(e)) from None


def _field_error(message: str) -> ValidationError:
    """Turn msgspec's "… - at `$.field`" into a ValidationError naming the field."""
    m = re.search(r"at `\$\.([^`\[]+)", message)
    field_name = m.group(1) if m else "row"
    problem = re.sub(r"\s*-\s*at `[^`]*`", "", message)
    missing = re.search(r"missing required field `([^`]+)`", message)
    if missing:
        field_name, problem = missing.group(1), "is required"
    unknown = re.search(r"unknown field `([^`]+)`", message)
    if unknown:
        field_name, problem = unknown.group(1), "is not a column of this record type"
    return ValidationError(field_name, problem)


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(";") if v.strip()]


def _apply(bank: CreditBank, row: _Row, signer: SigningKey, today: date) -> None:
    parsed = row.parsed
    if isinstance(parsed, LearnerRow):
        _learner(bank, parsed, signer)
    elif isinstance(parsed, CourseRow):
        _course(bank, parsed, signer)
    elif isinstance(parsed, CertificateRow):
        _certificate(bank, parsed, signer)
    else:
        _achievement(bank, parsed, signer, today)


def _already(bank: CreditBank, aggregate_id: Any, same: Callable[[Any], bool], what: str) -> bool:
    """Whether the thing is already recorded identically (skip); conflicting raises."""
    if not bank._exists(aggregate_id):
        return False
    if same(bank.load(aggregate_id)):
        return True
    raise ConflictError(f"{what} is already recorded with different values")


def _learner(bank: CreditBank, r: LearnerRow, signer: SigningKey) -> None:
    person = PersonalData(name=r.name, id_document_type=r.id_document_type,
                          id_document_number=r.id_document_number, contact=r.contact)
    if _already(bank, learner_account_id(r.learner_id),
                lambda a: (a.personal_data, a.learner_type.value, a.programme_code)
                == (person, r.learner_type, r.programme_code), f"learner {r.learner_id}"):
        return
    bank.open_account(learner_id=r.learner_id, learner_type=r.learner_type,
                      personal_data=person, programme_code=r.programme_code, signer=signer)


def _course(bank: CreditBank, r: CourseRow, signer: SigningKey) -> None:
    owner = bank.principal_of(signer)
    if _already(bank, course_id(owner, r.code),
                lambda c: (c.name, c.category.value, c.theory_hours, c.practice_hours)
                == (r.name, r.category, r.theory_hours, r.practice_hours), f"course {r.code}"):
        return
    bank.define_course(code=r.code, name=r.name, category=r.category, nature=r.nature,
                       course_type=r.course_type, attribute=r.attribute,
                       theory_hours=r.theory_hours, practice_hours=r.practice_hours,
                       difficulty=r.difficulty, assessment_method=r.assessment_method,
                       pass_mark=r.pass_mark, programmes=_split(r.programmes), signer=signer)


def _certificate(bank: CreditBank, r: CertificateRow, signer: SigningKey) -> None:
    issuer = bank.principal_of(signer)
    levels = _split(r.levels)
    if _already(bank, certificate_id(issuer, r.code),
                lambda c: (c.name, sorted(v.value for v in c.levels)) == (r.name, sorted(levels)),
                f"certificate {r.code}"):
        return
    bank.register_certificate(code=r.code, name=r.name, levels=levels, name_en=r.name_en,
                              majors=_split(r.majors), signer=signer)


def _achievement(bank: CreditBank, r: AchievementRow, signer: SigningKey, today: date) -> None:
    evidence = Evidence(description=r.evidence_description, reference=r.evidence_reference,
                        sha256=r.evidence_sha256)
    day = r.recognised_on or today
    if r.kind == "course_result":
        bank.recognise_course_result(
            learner_id=r.learner_id, course_code=_need(r.course_code, "course_code"),
            course_owner=r.course_owner, term=_need(r.term, "term"), score=r.score,
            evidence=evidence, signer=signer, today=day)
        return
    rule = RuleRef(rule_id=_need(r.rule_id, "rule_id"), version=_need(r.rule_version,
                                                                          "rule_version"))
    if r.kind == "x_certificate":
        bank.recognise_certificate(
            learner_id=r.learner_id, certificate_code=_need(r.certificate_code,
                                                            "certificate_code"),
            number=_need(r.number, "number"), level=_need(r.level, "level"),
            issued_on=_need(r.issued_on, "issued_on"), expires_on=r.expires_on,
            credits=_need(r.credits, "credits"), category=_need(r.category, "category"),
            rule=rule, evidence=evidence, signer=signer, today=day)
        return
    bank.recognise_learning_record(
        kind=r.kind, learner_id=r.learner_id, title=_need(r.title, "title"),
        reference=_need(r.reference, "reference"),
        completed_on=_need(r.completed_on, "completed_on"), method=_need(r.method, "method"),
        credits=_need(r.credits, "credits"), category=_need(r.category, "category"), rule=rule,
        evidence=evidence, hours=r.hours, score=r.score, signer=signer, today=day)


def _need(value: Any, name: str) -> Any:
    if value is None:
        raise ValidationError(name, "is required for this kind of achievement")
    return value


# -- the import ------------------------------------------------------------------------------------


def import_file(
    bank: CreditBank,
    path: str | Path,
    *,
    signer: SigningKey,
    record_type: str | None = None,
    skip_bad: str | Path | None = None,
    commit_size: int = 500,
    today: date | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a file into the bank, signed by ``signer`` (see the module docs for the rules).

    Raises :class:`ImportRejectedError` (carrying the report with every bad row) if a row is bad
    and ``skip_bad`` is not given; nothing is written then.
    """
    if commit_size < 1:
        raise ValidationError("commit_size", "must be at least 1")
    day = today or date.today()
    rows = read_rows(path, record_type)
    report = ImportReport(rows=len(rows))
    plan = _Plan(bank)
    good = _validate(bank, rows, signer, day, report, progress, plan)
    if report.rejected and skip_bad is None:
        raise ImportRejectedError(report)
    if report.rejected:
        plan.usable = False  # a bad row may have left half-made changes in the dry run
    for chunk in _chunks(good, commit_size):
        if not plan.write(chunk, signer, report):
            _run_again(bank, chunk, signer, day, report)
        if progress:
            progress(report.rows + chunk[-1].line, 2 * report.rows)
    if skip_bad is not None:
        write_rejects(skip_bad, report.rejected)
        report.rejects_file = str(skip_bad)
    return report


RERUN_ATTEMPTS = 5
"""How often a chunk is run again when another writer commits to the same aggregates first."""


def _run_again(bank: CreditBank, chunk: Sequence[_Row], signer: SigningKey, day: date,
               report: ImportReport) -> None:
    """Run the rows' commands again, in a fresh unit of work, and save them as one commit.

    If another writer commits to one of the same aggregates between this unit's reads and its
    commit, the store refuses the commit (nothing of it is written) and the chunk is run again
    on the ledger as it is then; a row that now conflicts with what the other writer recorded
    raises the command's own typed error, as it would in a dry run.
    """
    for attempt in range(1, RERUN_ATTEMPTS + 1):
        written = unchanged = 0
        try:
            with bank.unit_of_work(signer) as unit:
                for row in chunk:
                    before = len(unit.staged)
                    _apply(bank, row, signer, day)
                    if len(unit.staged) > before:  # each written row adds a new aggregate
                        written += 1
                    else:
                        unchanged += 1
        except RecordConflictError as e:
            if attempt == RERUN_ATTEMPTS:
                raise ConflictError(
                    f"rows {chunk[0].line}-{chunk[-1].line}: other writers kept changing the "
                    f"same records ({attempt} attempts); nothing of these rows was written; "
                    "run the import again") from e
            continue
        report.written += written
        report.unchanged += unchanged
        report.commits += 1 if unit.staged else 0
        return


def _validate(bank: CreditBank, rows: Sequence[_Row], signer: SigningKey, day: date,
              report: ImportReport, progress: Progress | None, plan: _Plan) -> list[_Row]:
    good: list[_Row] = []
    with bank.unit_of_work(signer, dry_run=True) as unit:
        plan.watch(unit)
        _preload_accounts(bank, unit, rows)
        for n, row in enumerate(rows, start=1):
            try:
                row.parsed = _parse(row)
                _apply(bank, row, signer, day)
            except ValidationError as e:
                report.rejected.append(RowError(line=row.line, field=e.field, problem=e.problem,
                                                row=row.raw))
            except CreditLedgerError as e:
                report.rejected.append(RowError(line=row.line, field=getattr(e, "field", None)
                                                or "row", problem=str(e), row=row.raw))
            else:
                good.append(row)
            plan.row_done(row)
            if progress and n % 1000 == 0:
                progress(n, 2 * len(rows))
        plan.unwatch(unit)
    return good


def _preload_accounts(bank: CreditBank, unit: UnitOfWork, rows: Sequence[_Row]) -> None:
    """Load the accounts that achievement rows name into the dry run's unit of work up front.

    They are the aggregates the rows' commands would load (``bank.load`` returns what the unit
    holds), rebuilt from their events by ``Repository.get`` as usual, with a projector function
    that is eventsourcing's ``project_aggregate`` without its per-event ``isinstance`` check
    against a runtime protocol (tens of microseconds an event on Python 3.11). Accounts that do
    not exist are left to the rows' commands, which report them.
    """
    for row in rows:
        learner_id = row.raw.get("learner_id") if row.type == "achievement" else None
        if not isinstance(learner_id, str):
            continue
        account_id = learner_account_id(learner_id)
        if account_id in unit.aggregates:
            continue
        with suppress(AggregateNotFoundError):
            unit.aggregates[account_id] = bank.repository.get(account_id,
                                                              projector_func=_project)


def _project(aggregate: Any, events: Iterable[Any]) -> Any:
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class _PlannedCommit:
    """The events of one commit, as decided by the validation pass (saved with ``save``, which
    collects events from any object that has ``collect_events``)."""

    id = "planned-commit"

    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def collect_events(self) -> list[Any]:
        events, self.events = self.events, []
        return events


class _Plan:
    """What the validation pass decided, row by row, so that the write pass need not decide it
    again.

    The dry run runs every row's command against the ledger as it is, plus the rows before it.
    If nothing else has been written to the ledger since the dry run began (its head is where
    the dry run saw it, plus our own commits), running the commands again would load exactly the
    same aggregates and produce the same events (the same ids, versions and values; only the
    events' creation timestamps would be later). So each chunk's events are taken from the dry
    run and saved as they are, in the order the write pass would save them. As soon as the head
    has moved (another writer), a commit conflicts, a row was rejected, or the application keeps
    an aggregate cache or snapshots, every remaining chunk is written as before: its commands
    run again, in a fresh unit of work, against the ledger as it is then.
    """

    def __init__(self, bank: CreditBank) -> None:
        self.bank = bank
        self.usable = bank.repository.cache is None and bank.snapshots is None
        self.head = bank.recorder.max_notification_id() or 0  # before the dry run reads
        self.rows: dict[int, list[tuple[Any, list[Any]]]] = {}  # id(row) -> (aggregate id, events)
        self._touched: list[Any] = []
        self._taken: dict[Any, int] = {}

    def watch(self, unit: UnitOfWork) -> None:
        """Note which aggregates each row's command stages in the dry-run ``unit``."""
        unit.on_stage = self._staged

    def unwatch(self, unit: UnitOfWork) -> None:
        unit.on_stage = None

    def _staged(self, objs: list[Any]) -> None:
        self._touched.extend(objs)

    def row_done(self, row: _Row) -> None:
        """Take the events the row's command staged (none if it failed or changed nothing)."""
        staged, self._touched = self._touched, []
        if not self.usable:
            return
        taken = self._taken
        per_row: list[tuple[Any, list[Any]]] = []
        for aggregate in staged:
            pending = aggregate.pending_events
            first = taken.get(aggregate.id, 0)
            per_row.append((aggregate.id, pending[first:]))
            taken[aggregate.id] = len(pending)
        self.rows[id(row)] = per_row

    def write(self, chunk: Sequence[_Row], signer: SigningKey, report: ImportReport) -> bool:
        """Save ``chunk`` as planned, and count it in ``report``; False if it must be redone."""
        if not self.usable or (self.bank.recorder.max_notification_id() or 0) != self.head:
            self.usable = False
            return False
        staged: dict[Any, list[Any]] = {}  # in first-staged order, as a unit of work saves
        written = unchanged = 0
        for row in chunk:
            before = len(staged)
            for aggregate_id, events in self.rows[id(row)]:
                staged.setdefault(aggregate_id, []).extend(events)
            if len(staged) > before:
                written += 1
            else:
                unchanged += 1
        if staged:
            events = [e for per_aggregate in staged.values() for e in per_aggregate]
            try:
                recordings = self.bank.save(_PlannedCommit(events), signer=signer)
            except RecordConflictError:  # someone else wrote to these aggregates meanwhile
                self.usable = False
                return False
            if recordings:
                if recordings[0].notification.id != self.head + 1:
                    # Another writer committed between the check and this commit. This chunk
                    # was decided on the ledger as it was at the check, as a re-run would have
                    # been; the following ones are re-run on the ledger as it is now.
                    self.usable = False
                self.head = recordings[-1].notification.id
        for row in chunk:
            del self.rows[id(row)]
        report.written += written
        report.unchanged += unchanged
        report.commits += 1 if staged else 0
        return True


def _chunks(rows: Sequence[_Row], size: int) -> Iterator[Sequence[_Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


def write_rejects(path: str | Path, rejected: Sequence[RowError]) -> None:
    """Write the bad rows to a CSV: line, field, problem, then the row's own columns."""
    columns: dict[str, None] = {}
    for r in rejected:
        columns.update(dict.fromkeys(r.row))
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["line", "field", "problem", *columns])
        writer.writeheader()
        for r in rejected:
            writer.writerow({"line": r.line, "field": r.field, "problem": r.problem, **r.row})
