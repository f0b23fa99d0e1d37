"""Batch import (数据批处理): learners, courses, certificates and achievements from CSV or JSON.

Every row is validated before anything is written: a first pass runs every row's command in a
*dry-run* unit of work (so rows see the rows before them, e.g. a learner then their results),
collecting each bad row with its line number, field and problem. With any bad row nothing is
written — unless ``skip_bad`` names a rejects file, in which case the good rows are written and
the bad ones go to that CSV. The second pass writes the good rows in units of ``commit_size``
rows, each one signed commit: the events the first pass decided, as long as nothing else has
been written to the ledger meanwhile (else the rows' commands run again, see :class:`_Plan`).
Re-running the same file is idempotent: what is already recorded identically is skipped; what
conflicts is a bad row, and so is a row naming the same thing as an earlier row of the file with
different values (a duplicate: both lines are named). Two imports of the same file at once both
succeed: a row whose thing the other import records between this one's check and its command
is checked again and found recorded. A row that another writer makes conflicting *during* the
write pass (after the dry run accepted it) raises its command's typed error; the chunks before
it stay committed, and re-running the file completes the rest.

What cannot be imported at all is refused once, before any row: a signing key the ledger does
not know, a rejects file that is the file being imported (or the ledger), and every problem of
the file as a whole (see :mod:`creditledger.services.batch_files`). The file formats are in
:mod:`creditledger.services.batch_files`, the row types in :mod:`creditledger.services.batch_rows`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.persistence import RecordConflictError

from creditledger.crypto.keys import SigningKey
from creditledger.domain import (
    Evidence,
    PersonalData,
    RuleRef,
    achievement_id,
    certificate_id,
    course_id,
    course_result_key,
    institution_id,
    learner_account_id,
)
from creditledger.errors import (
    AlreadyExistsError,
    ConflictError,
    CreditLedgerError,
    DuplicateAchievementError,
    ImportRejectedError,
    NotFoundError,
    ValidationError,
)
from creditledger.services.batch_files import read_rows
from creditledger.services.batch_rows import (
    AchievementRow,
    CertificateRow,
    CourseRow,
    ImportReport,
    LearnerRow,
    Row,
    RowError,
    differing,
    parse,
    quoted,
    row_key,
    split_list,
    write_rejects,
)
from creditledger.services.recognition import RecognitionCommands
from creditledger.store.ledger import UnitOfWork

Progress = Callable[[int, int], None]


def _apply(bank: BatchCommands, row: Row, signer: SigningKey, today: date) -> None:
    parsed = row.parsed
    if isinstance(parsed, LearnerRow):
        _learner(bank, parsed, signer)
    elif isinstance(parsed, CourseRow):
        _course(bank, parsed, signer)
    elif isinstance(parsed, CertificateRow):
        _certificate(bank, parsed, signer)
    else:
        _achievement(bank, parsed, signer, today)


def _already(bank: BatchCommands, aggregate_id: Any, same: Callable[[Any], bool],
             what: tuple[str, str]) -> bool:
    """Whether the thing (``what``: its kind and key) is already recorded identically (skip);
    recorded with other values: :class:`AlreadyExistsError`."""
    if not bank._exists(aggregate_id):
        return False
    if same(bank._load(aggregate_id)):
        return True
    raise AlreadyExistsError(*what, detail=" with different values")


def _once(bank: BatchCommands, aggregate_id: Any, same: Callable[[Any], bool],
          what: tuple[str, str], create: Callable[[], Any]) -> None:
    """Run ``create`` unless the thing is already recorded identically.

    If another writer records it between the check and the command (which then refuses it as
    already defined), it is checked again, now loaded: recorded identically, the row changes
    nothing, as if it had been there all along; recorded otherwise, :class:`AlreadyExistsError`.
    """
    if _already(bank, aggregate_id, same, what):
        return
    try:
        create()
    except AlreadyExistsError:
        if not _already(bank, aggregate_id, same, what):
            raise


def _learner(bank: BatchCommands, r: LearnerRow, signer: SigningKey) -> None:
    person = PersonalData(name=r.name, id_document_type=r.id_document_type,
                          id_document_number=r.id_document_number, contact=r.contact)
    _once(bank, learner_account_id(r.learner_id),
          lambda a: (a.personal_data, a.learner_type.value, a.programme_code)
          == (person, r.learner_type, r.programme_code), ("learner account", r.learner_id),
          lambda: bank.open_account(learner_id=r.learner_id, learner_type=r.learner_type,
                                    personal_data=person, programme_code=r.programme_code,
                                    signer=signer))


def _course(bank: BatchCommands, r: CourseRow, signer: SigningKey) -> None:
    owner = bank.principal_of(signer)
    _once(bank, course_id(owner, r.code),
          lambda c: (c.name, c.category.value, c.theory_hours, c.practice_hours)
          == (r.name, r.category, r.theory_hours, r.practice_hours),
          ("course", f"{owner}/{r.code}"),
          lambda: bank.define_course(
              code=r.code, name=r.name, category=r.category, nature=r.nature,
              course_type=r.course_type, attribute=r.attribute, theory_hours=r.theory_hours,
              practice_hours=r.practice_hours, difficulty=r.difficulty,
              assessment_method=r.assessment_method, pass_mark=r.pass_mark,
              programmes=split_list(r.programmes), signer=signer))


def _certificate(bank: BatchCommands, r: CertificateRow, signer: SigningKey) -> None:
    issuer = bank.principal_of(signer)
    levels = split_list(r.levels)
    _once(bank, certificate_id(issuer, r.code),
          lambda c: (c.name, sorted(v.value for v in c.levels)) == (r.name, sorted(levels)),
          ("certificate", f"{issuer}/{r.code}"),
          lambda: bank.register_certificate(code=r.code, name=r.name, levels=levels,
                                            name_en=r.name_en, majors=split_list(r.majors),
                                            signer=signer))


def _achievement(bank: BatchCommands, r: AchievementRow, signer: SigningKey, today: date) -> None:
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
    bank: BatchCommands,
    path: str | Path,
    *,
    signer: SigningKey,
    record_type: str | None = None,
    skip_bad: str | Path | None = None,
    commit_size: int = 500,
    today: date | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
) -> ImportReport:
    """Import a file of learners, courses, certificates or achievements into the bank, signed
    by ``signer``: every row validated first, then written in signed commits of ``commit_size``
    rows (see the module's documentation for the rules). It is also the bank's command
    ``bank.import_file(path, signer=...)``. ``encoding`` names a CSV or JSON file's text
    encoding if it is not UTF-8 (e.g. ``"gb18030"``).

    Raises :class:`~creditledger.errors.ImportRejectedError` (carrying the report with every bad
    row) if a row is bad and ``skip_bad`` is not given; nothing is written then. What cannot be
    imported at all raises before any row is read: :class:`~creditledger.errors.NotFoundError`
    for a signing key the ledger does not know, :class:`~creditledger.errors.ValidationError`
    naming ``signer``, ``skip_bad``, ``file``, ``encoding``, ``header`` or ``record_type``.
    """
    if commit_size < 1:
        raise ValidationError("commit_size", "must be at least 1")
    _check_signer(bank, signer)
    if skip_bad is not None:
        _check_rejects_file(bank, Path(path), Path(skip_bad))
    day = today or bank._today()
    rows = read_rows(path, record_type, encoding=encoding)
    report = ImportReport(rows=len(rows))
    plan = _Plan(bank)
    good = _validate(bank, rows, signer, day, report, progress, plan)
    if report.rejected and skip_bad is None:
        raise ImportRejectedError(report)
    if skip_bad is not None:  # before the good rows: if it cannot be written, nothing is
        _write_rejects(Path(skip_bad), report)
    if report.rejected:
        plan.usable = False  # a bad row may have left half-made changes in the dry run
    for chunk in _chunks(good, commit_size):
        _keys_ahead(bank, chunk)
        if not plan.write(chunk, signer, report):
            _run_again(bank, chunk, signer, day, report)
        if progress:
            progress(report.rows + chunk[-1].line, 2 * report.rows)
    return report


def _keys_ahead(bank: BatchCommands, chunk: Sequence[Row]) -> None:
    """Make the data keys of the chunk's new learners in one key-store commit, ahead of the
    chunk's own commit (one sync for the cohort, not one per learner; a key made for a row
    that then fails is never used, and opens nothing)."""
    keys = bank._ledger.personal
    if keys is None or keys.kek is None:
        return  # a plaintext ledger; or no KEK: the chunk's commit will say so
    learners = [learner_account_id(r.parsed.learner_id).hex for r in chunk
                if isinstance(r.parsed, LearnerRow)]
    if learners:
        keys.make_keys(learners)


def _write_rejects(path: Path, report: ImportReport) -> None:
    try:
        write_rejects(path, report.rejected)
    except OSError as e:
        raise ValidationError("skip_bad", f"cannot write {path}: {e.strerror or e}; nothing "
                                          "was imported") from None
    report.rejects_file = str(path)


def _check_signer(bank: BatchCommands, signer: SigningKey) -> None:
    """The signer's key must be registered to an institution (else no row could be)."""
    principal = bank.principal_of(signer)  # NotFoundError naming signer
    if not bank._exists(institution_id(principal)):
        raise ValidationError("signer", f"key {signer.key_id} is the {principal} key, not an "
                                        "institution's: rows are imported with the key of the "
                                        "institution that records them")


def _check_rejects_file(bank: BatchCommands, path: Path, rejects: Path) -> None:
    """The rejects file must not be the file imported, nor the ledger, nor a folder."""
    ledger_file = bank._ledger.env.get("SQLITE_DBNAME")
    for other, what in ((path, "the file being imported"), (ledger_file, "the ledger")):
        if other and rejects.exists() and os.path.exists(other) and \
                os.path.samefile(rejects, other):
            raise ValidationError("skip_bad", f"{rejects} is {what}: name another file for "
                                              "the rejected rows")
    if rejects.is_dir():
        raise ValidationError("skip_bad", f"{rejects} is a folder: name a file for the "
                                          "rejected rows")
    if not rejects.parent.is_dir():
        raise ValidationError("skip_bad", f"{rejects}: the folder {rejects.parent} does not "
                                          "exist")


class BatchCommands(RecognitionCommands):
    """Batch import (数据批处理) as a command of the bank."""

    import_file = import_file


RERUN_ATTEMPTS = 5
"""How often a chunk is run again when another writer commits to the same aggregates first."""


def _run_again(bank: BatchCommands, chunk: Sequence[Row], signer: SigningKey, day: date,
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
            with bank._unit_of_work(signer) as unit:
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


def _validate(bank: BatchCommands, rows: Sequence[Row], signer: SigningKey, day: date,
              report: ImportReport, progress: Progress | None, plan: _Plan) -> list[Row]:
    good: list[Row] = []
    first: dict[Any, Row] = {}  # what a row records -> the first row of the file recording it
    with bank._unit_of_work(signer, dry_run=True) as unit:
        plan.watch(unit)
        _preload_accounts(bank, unit, rows)
        for n, row in enumerate(rows, start=1):
            error = _check_row(bank, row, signer, day, first)
            if error is None:
                good.append(row)
            else:
                report.rejected.append(error)
            plan.row_done(row)
            if progress and n % 1000 == 0:
                progress(n, 2 * len(rows))
        plan.unwatch(unit)
    return good


def _check_row(bank: BatchCommands, row: Row, signer: SigningKey, day: date,
               first: dict[Any, Row]) -> RowError | None:
    """Run the row's command in the dry run: its problem as a bad row, or ``None``."""
    try:
        _refuse_duplicate(row, first)
        row.parsed = parse(row)
        _apply(bank, row, signer, day)
    except CreditLedgerError as e:
        field, problem = _described(e)
        return RowError(line=row.line, field=field, problem=problem, row=row.raw)
    return None


def _refuse_duplicate(row: Row, first: dict[Any, Row]) -> None:
    """A row recording the same thing as an earlier row of the file must repeat it exactly."""
    key = row_key(row)
    if key is None:
        return
    earlier = first.setdefault(key, row)
    changed = differing(earlier, row) if earlier is not row else []
    if changed:
        same = ", ".join(f"{column} {value}" for column, value in key[1] if value)
        raise ValidationError(key[1][-1][0], f"duplicate: line {earlier.line} of this file has "
                                             f"the same {same}, with a different "
                                             f"{', '.join(changed)}")


def _described(e: CreditLedgerError) -> tuple[str, str]:
    """A command's refusal of a row as (column, problem in words)."""
    if isinstance(e, ValidationError):
        return e.field, e.problem
    if isinstance(e, NotFoundError):
        return e.field or e.kind, f"unknown {e.kind} {quoted(e.key)}"
    if isinstance(e, DuplicateAchievementError):
        listed = ", ".join(e.fields)
        return listed or "row", (f"this achievement is already recorded with a different "
                                 f"{listed}; the row is not a repeat of it")
    field = getattr(e, "field", None) or "row"
    return field, str(e).removeprefix(f"{field}: ")


def _preload_accounts(bank: BatchCommands, unit: UnitOfWork, rows: Sequence[Row]) -> None:
    """Read, in bulk, the aggregates achievement rows name into the dry run's unit of work up
    front: the accounts they credit, and the course results they would record (whose absence
    the rows' commands check, one store read each otherwise).

    :meth:`Ledger.preload` loads the accounts that exist as ``Repository.get`` would (the same
    events, applied in order) and notes the ids the store holds no event of, so that the rows'
    commands load them from the unit (``bank.load`` returns what the unit holds). An id
    computed here that is not the one a command asks for only goes unused: the command then
    reads the store as before. Accounts that do not exist are left to the rows' commands,
    which report them.
    """
    wanted: list[UUID] = []
    school = bank.principal_of(unit.signer)  # a course's owner unless the row names another
    for row in rows:
        raw = row.raw
        learner_id = raw.get("learner_id") if row.type == "achievement" else None
        if not isinstance(learner_id, str):
            continue
        wanted.append(learner_account_id(learner_id))
        if raw.get("kind") == "course_result":
            wanted.extend(_course_result_id(learner_id, raw.get("course_owner") or school,
                                            raw.get("course_code"), raw.get("term")))
    bank._ledger.preload(wanted)


def _course_result_id(learner_id: str, owner: Any, code: Any, term: Any) -> list[UUID]:
    """The id of the course result a row would record (none if its fields are not valid:
    the row's command reports them)."""
    if not (isinstance(owner, str) and isinstance(code, str) and isinstance(term, str)):
        return []
    try:
        return [achievement_id(course_result_key(learner_id, owner, code, term))]
    except CreditLedgerError:
        return []


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

    def __init__(self, bank: BatchCommands) -> None:
        self.bank = bank
        self.usable = bank._ledger.repository.cache is None and bank._ledger.snapshots is None
        self.head = bank._ledger.recorder.max_notification_id() or 0  # before the dry run reads
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

    def row_done(self, row: Row) -> None:
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

    def write(self, chunk: Sequence[Row], signer: SigningKey, report: ImportReport) -> bool:
        """Save ``chunk`` as planned, and count it in ``report``; False if it must be redone."""
        if not self.usable or (self.bank._ledger.recorder.max_notification_id() or 0) != self.head:
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
                recordings = self.bank._save(_PlannedCommit(events), signer=signer)
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


def _chunks(rows: Sequence[Row], size: int) -> Iterator[Sequence[Row]]:
    for start in range(0, len(rows), size):
        yield rows[start:start + size]
