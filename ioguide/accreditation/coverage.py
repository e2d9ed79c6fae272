"""Coverage: one row per requirement with its automatic status and the centre's evidence; filters, the list of
what is missing for Accredited Centre, counts for charts, and plain-text formatting for the terminal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .drafting import Thresholds, draft_requirement, index_fingerprint, wording_hash
from .standards import LEVELS, NOT_DRAFTED, STATUSES, Requirement
from .store import AccreditationStore, Draft


@dataclass(frozen=True)
class CoverageRow:
    requirement_id: str
    standard: int
    letter: str
    section: int
    section_title: str
    level: str
    inferred: bool
    status: str  # one of STATUSES, or NOT_DRAFTED
    evidence: tuple[str, ...]  # "Title, p. 2" for each cited centre document
    wording_imported: bool
    version: int | None = None
    origin: str = ""
    author: str = ""
    stale: bool = False  # the wording or the index changed since this (staff-edited) draft

    def to_json(self) -> dict[str, Any]:
        return {**vars(self), "evidence": list(self.evidence)}


def is_stale(draft: Draft, req: Requirement, index_fp: str | None) -> bool:
    if draft.wording_hash != wording_hash(req):
        return True
    return bool(index_fp) and draft.index_fp != index_fp


def coverage(requirements: list[Requirement], store: AccreditationStore, assistant=None, author: str = "ioguide",
             refresh: bool = True, k: int = 5, mode: str | None = None, thresholds: Thresholds | None = None,
             progress: Callable[[int, int, str], None] | None = None) -> list[CoverageRow]:
    """One row per requirement. With an assistant and refresh, requirements without a draft, or whose generated
    draft is stale (new wording, changed index), are drafted first; staff edits are never re-drafted here."""
    latest = store.latest_all()
    index_fp = index_fingerprint(assistant) if assistant is not None else None
    rows = []
    for i, req in enumerate(requirements, start=1):
        if progress:
            progress(i, len(requirements), req.requirement_id)
        draft = latest.get(req.requirement_id)
        if assistant is not None and refresh and (
                draft is None or (draft.origin == "generated" and is_stale(draft, req, index_fp))):
            draft = draft_requirement(assistant, store, req, author, k=k, mode=mode, thresholds=thresholds)
        rows.append(CoverageRow(
            requirement_id=req.requirement_id, standard=req.standard, letter=req.letter, section=req.section,
            section_title=req.section_title, level=req.level, inferred=req.inferred,
            status=draft.status if draft else NOT_DRAFTED,
            evidence=tuple(e.label() for e in draft.centre_evidence) if draft and draft.status != "missing" else (),
            wording_imported=bool(req.wording), version=draft.version if draft else None,
            origin=draft.origin if draft else "", author=draft.author if draft else "",
            stale=bool(draft) and is_stale(draft, req, index_fp)))
    return rows


def filter_rows(rows: list[CoverageRow], sections: tuple[int, ...] = (), levels: tuple[str, ...] = (),
                statuses: tuple[str, ...] = ()) -> list[CoverageRow]:
    return [r for r in rows if (not sections or r.section in sections) and (not levels or r.level in levels)
            and (not statuses or r.status in statuses)]


def missing_for_accredited(rows: list[CoverageRow]) -> list[CoverageRow]:
    """What stands between the centre and Accredited Centre: every core item without "evidence found"."""
    return [r for r in rows if r.level == "core" and r.status != "evidence found"]


def status_counts(rows: list[CoverageRow]) -> list[dict[str, Any]]:
    """[{level, status, count}] for every level and status (zeros included), for charts and summaries."""
    statuses = list(STATUSES) + ([NOT_DRAFTED] if any(r.status == NOT_DRAFTED for r in rows) else [])
    return [{"level": lv, "status": st, "count": sum(1 for r in rows if r.level == lv and r.status == st)}
            for lv in LEVELS for st in statuses]


def format_coverage(rows: list[CoverageRow]) -> str:
    """A plain-text table for the terminal."""
    head = f"{'Req':6} {'Std':>3} {'Section':31} {'Level':9} {'Status':15} Evidence (centre documents)"
    lines = [head, "-" * len(head)]
    for r in rows:
        level = r.level + ("*" if r.inferred else "")
        status = r.status + (" (edited)" if r.origin == "edited" else "")
        ev = "; ".join(r.evidence) or "-"
        lines.append(f"{r.requirement_id:6} {r.standard:>3} {r.section_title[:31]:31} {level:9} {status:15} {ev}")
    return "\n".join(lines)


def format_draft(req: Requirement, draft: Draft) -> str:
    """The draft as text: requirement, wording (or the not-public note), status, reasons, answer, sources."""
    lines = [req.label(), f"Wording: {req.wording}" if req.wording else f"Wording: {req.wording_status}",
             f"Status: {draft.status}", "Reasons:"]
    lines += [f"  - {r}" for r in draft.reasons]
    lines += ["", draft.text, "", "Sources:"]
    for e in draft.evidence:
        marks = "".join(f"[{m}]" for m in e.markers)
        lines.append(f"{marks} {e.label()} ({'centre document' if e.collection == 'centre' else 'guideline'})")
        lines.append(f"    {e.source}")
    lines.append(f"Draft version {draft.version} ({draft.origin}) by {draft.author}, {draft.created}")
    return "\n".join(lines)

