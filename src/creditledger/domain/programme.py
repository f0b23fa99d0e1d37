"""Programmes (专业) and their curriculum (人才培养方案的课程体系)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from uuid import UUID

from eventsourcing.domain import event

from creditledger.domain.base import BankAggregate
from creditledger.domain.course import Course
from creditledger.domain.ids import programme_id
from creditledger.domain.validation import validate_code, validate_credits, validate_name
from creditledger.domain.values import Category, CreditRequirement, CurriculumModule
from creditledger.errors import AlreadyExistsError, ConflictError, NotFoundError, ValidationError


class Programme(BankAggregate):
    """A major (专业) of a school with its curriculum.

    The curriculum lists the school's courses by category (公共基础, 专业基础, 专业核心,
    专业选修), groups courses into named modules (课程模块), and states the credits required per
    category to graduate.

    Create with :meth:`establish`. Events: ``Established``, ``CourseAdded``, ``CourseRemoved``,
    ``ModuleDefined``, ``RequirementSet``.
    """

    @event("Established")
    def __init__(
        self,
        institution: str,
        code: str,
        name: str,
        requirements: tuple[CreditRequirement, ...],
    ) -> None:
        self.institution = institution
        self.code = code
        self.name = name
        self.requirements = {r.category: r.credits for r in requirements}
        self.courses: dict[str, Category] = {}
        self.modules: dict[str, CurriculumModule] = {}

    @classmethod
    def create_id(cls, institution: str, code: str) -> UUID:
        """The programme's id, derived from its school's code and its own code."""
        return programme_id(institution, code)

    @classmethod
    def establish(
        cls,
        *,
        institution: str,
        code: str,
        name: str,
        required_credits: Mapping[Category | str, Decimal] | None = None,
    ) -> Programme:
        """Establish a programme; ``required_credits`` maps categories to credits to graduate."""
        requirements = {
            Category.parse(category, "required_credits"): _required(credits)
            for category, credits in (required_credits or {}).items()
        }
        return cls(
            institution=validate_code(institution, "institution"),
            code=validate_code(code, "code"),
            name=validate_name(name, "name"),
            requirements=tuple(
                CreditRequirement(category=c, credits=requirements[c])
                for c in Category
                if c in requirements
            ),
        )

    def add_course(self, course: Course) -> None:
        """Add one of the school's courses to the curriculum, under the course's category."""
        if course.owner != self.institution:
            raise ValidationError(
                "course", f"belongs to {course.owner}, not to this programme's {self.institution}"
            )
        if course.code in self.courses:
            raise AlreadyExistsError("course", f"{course.code} in programme {self.code}")
        self._course_added(course_code=course.code, category=course.category)

    @event("CourseAdded")
    def _course_added(self, course_code: str, category: Category) -> None:
        self.courses[course_code] = category

    def remove_course(self, course_code: str) -> None:
        """Take a course out of the curriculum; refused while a module still uses it."""
        code = self._known_course(course_code, "course_code")
        users = sorted(m.code for m in self.modules.values() if code in m.course_codes)
        if users:
            raise ConflictError(f"course {code} is used by module(s) {', '.join(users)}")
        self._course_removed(course_code=code)

    @event("CourseRemoved")
    def _course_removed(self, course_code: str) -> None:
        del self.courses[course_code]

    def define_module(self, *, code: str, name: str, course_codes: Iterable[str]) -> None:
        """Define a module (课程模块): a named, non-empty set of curriculum courses."""
        module_code = validate_code(code, "code")
        if module_code in self.modules:
            raise AlreadyExistsError("module", f"{module_code} of programme {self.code}",
                                     "module_code")
        codes = tuple(dict.fromkeys(self._known_course(c, "course_codes") for c in course_codes))
        if not codes:
            raise ValidationError("course_codes", "a module needs at least one course")
        self._module_defined(
            module=CurriculumModule(
                code=module_code, name=validate_name(name, "name"), course_codes=codes
            )
        )

    @event("ModuleDefined")
    def _module_defined(self, module: CurriculumModule) -> None:
        self.modules[module.code] = module

    def set_required_credits(self, category: Category | str, credits: Decimal) -> None:
        """Set the credits required in ``category`` to graduate."""
        self._requirement_set(
            requirement=CreditRequirement(
                category=Category.parse(category, "category"), credits=_required(credits)
            )
        )

    @event("RequirementSet")
    def _requirement_set(self, requirement: CreditRequirement) -> None:
        self.requirements[requirement.category] = requirement.credits

    def courses_in(self, category: Category | str) -> tuple[str, ...]:
        """Codes of the curriculum courses in ``category``, sorted."""
        wanted = Category.parse(category, "category")
        return tuple(sorted(c for c, cat in self.courses.items() if cat is wanted))

    def module_courses(self, module_code: str) -> tuple[str, ...]:
        """Course codes of module ``module_code``."""
        try:
            return self.modules[module_code].course_codes
        except KeyError:
            raise NotFoundError("module", module_code, "module_code") from None

    def required_credits(self, category: Category | str) -> Decimal:
        """Credits required in ``category`` to graduate (0.00 if none were set)."""
        return self.requirements.get(Category.parse(category, "category"), Decimal("0.00"))

    def total_required_credits(self) -> Decimal:
        """Credits required over all categories."""
        return sum(self.requirements.values(), Decimal("0.00"))

    def _known_course(self, course_code: object, field: str) -> str:
        code = validate_code(course_code, field)
        if code not in self.courses:
            raise NotFoundError("course", code, field)
        return code


#: Most credits a programme may require in one category (a whole programme is ~150 credits).
MAX_REQUIRED_CREDITS = Decimal(300)


def _required(credits: object) -> Decimal:
    return validate_credits(credits, "required_credits", maximum=MAX_REQUIRED_CREDITS)
