"""Readiness for Accredited Centre: core items met out of all core items, what is still missing (with the automatic
status as a suggestion), the internal case review, overdue actions and per-standard progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from .coverage import CoverageRow
from .currency import RecheckFlag
from .tracking import ASSESSMENTS, SUGGESTED, Action, Assessment

SATISFIED = ("met", "not applicable")  # a core item counts as done when assessed met, or not applicable with a reason
NOT_ASSESSED = "not assessed"


@dataclass(frozen=True)
class ReadinessItem:
    requirement_id: str
    standard: int
    level: str
    automatic: str  # the evidence status from the documents
    assessment: str  # staff assessment, or NOT_ASSESSED
    suggestion: str  # the assessment the automatic status suggests
    open_actions: int


@dataclass(frozen=True)
class StandardProgress:
    standard: int
    section_title: str
    counts: dict[str, int]  # assessment (or NOT_ASSESSED) -> requirements

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(self.counts.get(a, 0) for a in SATISFIED)


@dataclass
class Readiness:
    core_met: int
    core_total: int
    missing: list[ReadinessItem]
    case_review: str  # "" when the internal case review of 30 patients is complete, else what is left
    overdue: list[Action]
    per_standard: list[StandardProgress]
    rechecks: list[RecheckFlag] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return self.core_met == self.core_total and not self.case_review

    def chart_rows(self) -> list[dict]:
        """[{standard, assessment, count}] for a stacked bar chart, zeros left out."""
        return [{"standard": f"S{p.standard}", "assessment": a, "count": n}
                for p in self.per_standard for a, n in p.counts.items() if n]

    def summary_lines(self) -> list[str]:
        lines = [f"Core requirements met: {self.core_met} of {self.core_total}"]
        lines.append("Missing for Accredited Centre: "
                     + (", ".join(f"{m.requirement_id} ({m.assessment})" for m in self.missing) or "no core item"))
        lines.append(f"Internal case review: {self.case_review or 'complete'}")
        lines.append(f"Overdue actions: {len(self.overdue)}"
                     + ("" if not self.overdue else " (" + "; ".join(
                         f"{a.requirement_id} {a.title} - {a.owner}, due {a.due}" for a in self.overdue) + ")"))
        if self.rechecks:
            lines.append(f"Evidence to re-check: {len(self.rechecks)}")
        return lines


def readiness(rows: list[CoverageRow], assessments: dict[str, Assessment], actions: list[Action],
              case_review: str, today: date, rechecks: list[RecheckFlag] | None = None) -> Readiness:
    """rows: one coverage row per requirement; case_review: "" when complete, else what is left to do."""
    open_by: dict[str, int] = {}
    for a in actions:
        if a.state == "open":
            open_by[a.requirement_id] = open_by.get(a.requirement_id, 0) + 1
    items = [ReadinessItem(r.requirement_id, r.standard, r.level, r.status,
                           assessments[r.requirement_id].assessment if r.requirement_id in assessments
                           else NOT_ASSESSED, SUGGESTED.get(r.status, ""), open_by.get(r.requirement_id, 0))
             for r in rows]
    core = [i for i in items if i.level == "core"]
    progress = []
    for standard in sorted({r.standard for r in rows}):
        counts = dict.fromkeys((*ASSESSMENTS, NOT_ASSESSED), 0)
        for i in items:
            if i.standard == standard:
                counts[i.assessment] += 1
        section = next(r.section_title for r in rows if r.standard == standard)
        progress.append(StandardProgress(standard, section, counts))
    return Readiness(core_met=sum(1 for i in core if i.assessment in SATISFIED), core_total=len(core),
                     missing=[i for i in core if i.assessment not in SATISFIED], case_review=case_review,
                     overdue=[a for a in actions if a.overdue(today)], per_standard=progress,
                     rechecks=list(rechecks or []))


def centre_readiness(requirements: list, store, workflow, case_reviews, today: date,
                     rechecks: list[RecheckFlag] | None = None) -> Readiness:
    """Readiness from what is stored: drafts (automatic status), assessments, actions, the latest case review."""
    from .coverage import coverage

    return readiness(coverage(requirements, store), workflow.assessments(), workflow.actions(),
                     case_reviews.status(), today, rechecks)
