"""Accreditation drafting: the IASIOS requirement list, imported official wording, one draft answer per
requirement with evidence from the centre's own documents, coverage, and the application export.

The structure (13 standards, 3 sections, core letters) comes from data/standards.yaml; the wording of the items is
not public, so a centre imports it from its IASIOS Application Manual. Imported wording and drafts live in the
app's SQLite file (tables prefixed `accreditation_`), never in the repository. Each draft asks the Assistant twice:
once over the guidelines, once over the centre's documents; only the centre's documents can count as evidence.

Modules, in the order the data flows: standards (the catalogue and ids) -> wording (import) -> store (SQLite) ->
drafting (Answer -> Draft) -> coverage (rows, gaps) -> export (Markdown, DOCX). Beside them, what staff do:
tracking (assessments, actions, review and sign-off), currency (evidence re-check flags), readiness, gap (the gap
analysis as XLSX/CSV) and casereview (the internal case review of 30 patients).
"""

from .casereview import DEFAULT_CHECKLIST, CaseListError, CaseReviews, parse_case_list, read_case_list
from .coverage import (
    CoverageRow,
    coverage,
    filter_rows,
    format_coverage,
    format_draft,
    is_stale,
    missing_for_accredited,
    status_counts,
)
from .currency import RecheckFlag, recheck_flags, store_document_text
from .drafting import (
    StaffEditExists,
    Thresholds,
    assess,
    build_query,
    combine_answers,
    draft_requirement,
    evidence_from,
    generate_draft,
    mentions_requirement,
    renumber_markers,
    save_edit,
    wording_hash,
)
from .export import DISCLAIMER, NOT_APPROVED, ApplicationItem, application_docx, application_items, application_markdown
from .gap import gap_analysis, gap_csv, gap_rows, gap_xlsx
from .readiness import Readiness, centre_readiness, readiness
from .standards import (
    LEVELS,
    NOT_DRAFTED,
    NOT_PUBLIC,
    STANDARDS_FILE,
    STATUSES,
    AccreditationError,
    Requirement,
    Standards,
    find_requirement,
    load_standards,
    normalise_id,
    parse_requirement_id,
    requirement_list,
)
from .store import AccreditationStore, Draft, Evidence
from .tracking import ASSESSMENTS, SUGGESTED, Action, Assessment, Review, ReviewError, Workflow
from .wording import ImportReport, WordingImportError, WordingRow, import_wording, import_wording_file, parse_wording

__all__ = [
    "ASSESSMENTS", "DEFAULT_CHECKLIST", "NOT_APPROVED", "SUGGESTED", "Action", "Assessment", "CaseListError",
    "CaseReviews", "Readiness", "RecheckFlag", "Review", "ReviewError", "Workflow", "centre_readiness",
    "gap_analysis", "gap_csv", "gap_rows", "gap_xlsx",
    "parse_case_list", "read_case_list", "readiness", "recheck_flags", "store_document_text",
    "DISCLAIMER", "LEVELS", "NOT_DRAFTED", "NOT_PUBLIC", "STANDARDS_FILE", "STATUSES", "AccreditationError",
    "AccreditationStore", "ApplicationItem", "CoverageRow", "Draft", "Evidence", "ImportReport", "Requirement",
    "StaffEditExists", "Standards", "Thresholds", "WordingImportError", "WordingRow", "application_docx",
    "application_items", "application_markdown", "assess", "build_query", "combine_answers", "coverage",
    "draft_requirement", "evidence_from", "filter_rows", "find_requirement", "format_coverage", "format_draft",
    "generate_draft", "import_wording", "import_wording_file", "is_stale", "load_standards", "mentions_requirement",
    "missing_for_accredited", "normalise_id", "parse_requirement_id", "parse_wording", "renumber_markers",
    "requirement_list", "save_edit", "status_counts", "wording_hash",
]
