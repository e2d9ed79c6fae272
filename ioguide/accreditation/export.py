"""The application draft as Markdown and DOCX: per requirement the wording, the answer, the evidence and gaps."""

from __future__ import annotations

import io
import re
import time
from dataclasses import dataclass

from .coverage import CoverageRow, missing_for_accredited, status_counts
from .standards import LEVELS, NOT_DRAFTED, Requirement, Standards
from .store import AccreditationStore, Draft
from .tracking import Review

_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
NOT_APPROVED = "DRAFT - not approved yet"

DISCLAIMER = ("Draft prepared with IO Guide, which is not official CIRSE or IASIOS material. The wording of the "
              "requirements is shown only where the centre imported it from its IASIOS Application Manual. Check "
              "every answer against the cited documents before submitting.")


@dataclass
class ApplicationItem:
    requirement: Requirement
    draft: Draft | None
    approval: Review | None = None  # the sign-off of this draft version, in approved-only exports
    marked: str = ""  # NOT_APPROVED for a draft included without sign-off

    @property
    def gaps(self) -> list[str]:
        if self.draft is None and self.marked:
            return [self.marked]
        if self.draft is None:
            return ["Not drafted yet: run `ioguide coverage` or draft it on the Accreditation page."]
        if self.draft.status == "evidence found":
            return []
        head = {"missing": "No centre evidence found.",
                "partial": "Centre evidence is partial: confirm or add a document."}[self.draft.status]
        return [head] + [r for r in self.draft.reasons if not r.startswith(("Centre document ", "Evidence found:"))]


def application_items(requirements: list[Requirement], store: AccreditationStore,
                      approved: dict[str, Review] | None = None, include_drafts: bool = False) -> list[ApplicationItem]:
    """Every requirement with its latest draft; with approved (requirement_id -> the approving review), the
    approved version instead, and unapproved drafts left out (or, with include_drafts, marked as drafts)."""
    latest = store.latest_all()
    if approved is None:
        return [ApplicationItem(r, latest.get(r.requirement_id)) for r in requirements]
    items = []
    for r in requirements:
        review = approved.get(r.requirement_id)
        if review is not None:
            items.append(ApplicationItem(r, store.version(r.requirement_id, review.version), approval=review))
        elif include_drafts and r.requirement_id in latest:
            items.append(ApplicationItem(r, latest[r.requirement_id], marked=NOT_APPROVED))
        else:
            items.append(ApplicationItem(r, None, marked="No approved answer yet: submit the draft for review."))
    return items


def _sign_off(item: ApplicationItem) -> str:
    if item.approval is not None:
        return f"Approved by {item.approval.reviewer} on {item.approval.reviewed[:10]}"
    return item.marked if item.draft is not None else ""


def _summary_lines(items: list[ApplicationItem]) -> list[str]:
    rows = [CoverageRow(r.requirement_id, r.standard, r.letter, r.section, r.section_title, r.level, r.inferred,
                        i.draft.status if i.draft else NOT_DRAFTED, (), bool(r.wording))
            for i in items for r in [i.requirement]]
    out = []
    for lv in LEVELS:
        counts = [c for c in status_counts(rows) if c["level"] == lv]
        out.append(f"{lv.capitalize()}: " + ", ".join(f"{c['count']} {c['status']}" for c in counts))
    missing = missing_for_accredited(rows)
    out.append("Missing for Accredited Centre: " + (", ".join(r.requirement_id for r in missing) or "nothing"))
    return out


def application_markdown(requirements: list[Requirement], store: AccreditationStore, standards: Standards,
                         title: str = "IASIOS application draft", approved: dict[str, Review] | None = None,
                         include_drafts: bool = False) -> str:
    items = application_items(requirements, store, approved, include_drafts)
    lines = [f"# {title}", "", f"_Exported {time.strftime('%Y-%m-%d %H:%M')}. {DISCLAIMER}_", "", "## Summary", ""]
    lines += [f"- {s}" for s in _summary_lines(items)] + [""]
    for sec, sec_title in sorted(standards.sections.items()):
        lines += [f"## Section {sec}: {sec_title}", ""]
        for n in sorted(k for k, v in standards.section_of.items() if v == sec):
            lines += [f"### Standard {n}", ""]
            own = [i for i in items if i.requirement.standard == n]
            if not own:
                lines += ["_Sub-items not public and none is core: import the wording to add them._", ""]
            for item in own:
                lines += _markdown_item(item)
    return "\n".join(lines)


def _markdown_item(item: ApplicationItem) -> list[str]:
    req, draft = item.requirement, item.draft
    lines = [f"#### {req.requirement_id} ({req.level}{', inferred' if req.inferred else ''})"
             + (f": {req.title}" if req.title else ""), ""]
    if _sign_off(item):
        lines += [f"**{_sign_off(item)}**", ""]
    lines += [f"**Requirement:** {req.wording}" if req.wording else f"**Requirement:** _{req.wording_status}_", ""]
    if draft is None:
        lines += ["**Status:** not drafted", ""]
    else:
        lines += [f"**Status:** {draft.status}", "", "**Answer:**", "", draft.text, ""]
        if draft.evidence:
            lines += ["**Evidence:**", ""]
            for e in draft.evidence:
                kind = "centre document" if e.collection == "centre" else "guideline"
                lines.append(f"- {''.join(f'[{m}]' for m in e.markers)} {e.label()} ({kind}). {e.source}")
                lines += [f"  > {q}" for q in e.quotes]
            lines.append("")
    if item.gaps:
        lines += ["**Gaps:**", ""] + [f"- {g}" for g in item.gaps] + [""]
    if draft is not None:
        lines += [f"_Draft version {draft.version} ({draft.origin}) by {draft.author}, {draft.created}_", ""]
    return lines


def _x(text: str) -> str:
    return _XML_BAD.sub(" ", text)


def application_docx(requirements: list[Requirement], store: AccreditationStore, standards: Standards,
                     title: str = "IASIOS application draft", approved: dict[str, Review] | None = None,
                     include_drafts: bool = False) -> bytes:
    """The application as Word. approved: export approved answers only (see application_items)."""
    import docx
    from docx.shared import Cm, RGBColor

    items = application_items(requirements, store, approved, include_drafts)
    document = docx.Document()
    document.core_properties.title = title
    document.add_heading(title, 0)
    document.add_paragraph(_x(f"Exported {time.strftime('%Y-%m-%d %H:%M')}. {DISCLAIMER}")).runs[0].italic = True
    document.add_heading("Summary", level=1)
    for s in _summary_lines(items):
        document.add_paragraph(s, style="List Bullet")
    for sec, sec_title in sorted(standards.sections.items()):
        document.add_heading(f"Section {sec}: {sec_title}", level=1)
        for n in sorted(k for k, v in standards.section_of.items() if v == sec):
            document.add_heading(f"Standard {n}", level=2)
            own = [i for i in items if i.requirement.standard == n]
            if not own:
                document.add_paragraph("Sub-items not public and none is core: import the wording to add them.")
            for item in own:
                req, draft = item.requirement, item.draft
                document.add_heading(_x(f"{req.requirement_id} ({req.level}{', inferred' if req.inferred else ''})"
                                        + (f": {req.title}" if req.title else "")), level=3)
                if _sign_off(item):
                    run = document.add_paragraph().add_run(_sign_off(item))
                    run.bold = True
                    if item.marked:
                        run.font.color.rgb = RGBColor(0xC5, 0x30, 0x30)
                para = document.add_paragraph()
                para.add_run("Requirement: ").bold = True
                run = para.add_run(_x(req.wording or req.wording_status))
                run.italic = not req.wording
                para = document.add_paragraph()
                para.add_run("Status: ").bold = True
                para.add_run(draft.status if draft else NOT_DRAFTED)
                if draft is not None:
                    document.add_paragraph().add_run("Answer:").bold = True
                    for line in draft.text.split("\n"):
                        if line.strip():
                            document.add_paragraph(_x(line))
                    if draft.evidence:
                        document.add_paragraph().add_run("Evidence:").bold = True
                        for e in draft.evidence:
                            kind = "centre document" if e.collection == "centre" else "guideline"
                            document.add_paragraph(_x(f"{''.join(f'[{m}]' for m in e.markers)} {e.label()} "
                                                      f"({kind}). {e.source}"), style="List Bullet")
                            for q in e.quotes:
                                quote = document.add_paragraph(_x(q), style="Quote")
                                quote.paragraph_format.left_indent = Cm(1)
                if item.gaps:
                    document.add_paragraph().add_run("Gaps:").bold = True
                    for g in item.gaps:
                        document.add_paragraph(_x(g), style="List Bullet")
                if draft is not None:
                    document.add_paragraph(_x(f"Draft version {draft.version} ({draft.origin}) by {draft.author}, "
                                              f"{draft.created}")).runs[0].italic = True
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()
