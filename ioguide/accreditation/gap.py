"""The gap analysis in the columns quality managers know from ISO 15189 templates: requirement, core/extended,
wording, evidence with citations, finding, assessment, actions, owner, due, reviewer; as XLSX (openpyxl) or CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from .coverage import CoverageRow
from .standards import Requirement
from .store import Draft
from .tracking import Action, Assessment, Review

COLUMNS = ("Requirement", "Standard", "Section", "Core/extended", "Wording", "Evidence (centre documents)",
           "Finding", "Automatic status", "Assessment", "Actions", "Owner", "Due", "Reviewer")
WIDTHS = (11, 9, 22, 12, 45, 60, 40, 15, 22, 40, 16, 12, 32)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class GapRow:
    values: tuple[str, ...]  # in COLUMNS order
    overdue: bool


def gap_rows(requirements: list[Requirement], rows: list[CoverageRow], drafts: dict[str, Draft],
             assessments: dict[str, Assessment], actions: list[Action], reviews: list[Review],
             today: date) -> list[GapRow]:
    """reviews: newest first; the Reviewer column names the newest review of the draft and of the assessment."""
    by_id = {r.requirement_id: r for r in rows}
    out = []
    for req in requirements:
        row, draft = by_id.get(req.requirement_id), drafts.get(req.requirement_id)
        a = assessments.get(req.requirement_id)
        own = [x for x in actions if x.requirement_id == req.requirement_id]
        evidence = "\n".join(
            f"{''.join(f'[{m}]' for m in e.markers)} {e.label()}: " + " / ".join(f'"{q}"' for q in e.quotes)
            for e in (draft.centre_evidence if draft and draft.status != "missing" else ()))
        finding = (a.finding or a.reason) if a else ""
        if not finding and draft is not None:
            finding = draft.reasons[0] if draft.reasons else ""
        newest = {}
        for r in reviews:
            if r.requirement_id == req.requirement_id:
                newest.setdefault(r.kind, r)
        reviewer = "\n".join(f"{kind} {'v' if kind == 'draft' else '#'}{r.version}: {r.describe()}"
                              for kind, r in sorted(newest.items()))
        out.append(GapRow(values=(
            req.requirement_id, str(req.standard), req.section_title,
            req.level + (" (inferred)" if req.inferred else ""), req.wording or req.wording_status, evidence,
            finding, row.status if row else "not drafted",
            (a.assessment + (f" ({a.reason})" if a.reason and a.assessment == "not applicable" else "")) if a
            else "not assessed",
            "\n".join(f"{x.title} [{x.state}{', OVERDUE' if x.overdue(today) else ''}]" for x in own),
            "\n".join(x.owner for x in own), "\n".join(x.due for x in own),
            reviewer), overdue=any(x.overdue(today) for x in own)))
    return out


def _safe(text: str) -> str:
    """Spreadsheet programs run cells that start with = + - @ as formulas: such text is prefixed with '."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def gap_csv(rows: list[GapRow]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_safe(v) for v in r.values] for r in rows)
    return buf.getvalue()


def gap_xlsx(rows: list[GapRow], summary: list[str], title: str = "IASIOS gap analysis") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = "Gap analysis"
    ws.append(list(COLUMNS))
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="2B6CB0")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    late = PatternFill("solid", fgColor="FED7D7")
    for n, row in enumerate(rows, start=2):
        for col, value in enumerate(row.values, start=1):
            cell = ws.cell(row=n, column=col)
            cell.value = value
            cell.data_type = "s"  # never a formula, whatever the text starts with
            cell.alignment = Alignment(vertical="top", wrap_text=True)
        if row.overdue:
            for col in (10, 11, 12):
                ws.cell(row=n, column=col).fill = late
    for col, width in enumerate(WIDTHS, start=1):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(rows) + 1}"
    info = wb.create_sheet("Summary")
    info.append([title])
    info["A1"].font = Font(bold=True, size=14)
    for line in summary:
        info.append([line])
        info.cell(row=info.max_row, column=1).data_type = "s"
    info.column_dimensions["A"].width = 120
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def gap_analysis(requirements: list[Requirement], store, workflow, today: date) -> list[GapRow]:
    """The gap analysis of the centre as it stands (no drafting: the stored drafts and decisions)."""
    from .coverage import coverage

    return gap_rows(requirements, coverage(requirements, store), store.latest_all(), workflow.assessments(),
                    workflow.actions(), workflow.reviews(), today)
