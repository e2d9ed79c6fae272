"""The internal case review that IASIOS asks of an Accredited Centre: a reproducible random draw of (usually) 30
cases from the centre's case list, stratified by procedure type when asked, a centre-defined checklist recorded per
case, and a summary with rates and the cases that failed an item.

Only a pseudonymous case id, the procedure date, the procedure type and the operator are read; a case list with a
column that looks like patient-identifying data (a name, a date of birth, a hospital number ...) is refused whole.
Of the list itself only its SHA-256 and size are kept, so an auditor can re-run the draw from the same file and seed.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import random
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from .db import init_schema, now_iso, rows_as_dicts, transaction
from .standards import AccreditationError
from .tracking import AuditLog

DEFAULT_CHECKLIST = ("Discussed at the tumour board", "Consent documented",
                     "Complications graded with the CIRSE classification", "Follow-up imaging done")
RESULTS = ("yes", "no", "n/a")
COLUMNS = {"case_id": ("case_id", "case", "case id", "case_number", "pseudonym", "study_id"),
           "date": ("date", "procedure_date", "date_of_procedure", "treatment_date"),
           "procedure": ("procedure", "procedure_type", "procedure_name", "type", "treatment"),
           "operator": ("operator", "operator_id", "operator_code", "operator_name", "interventionalist")}
# Header words that mean patient-identifying data: (pattern on the normalised header, what it looks like).
IDENTIFYING = (
    (r"\b(date of birth|birth ?date|dob|born|birthday|geburtsdatum)\b", "a date of birth"),
    (r"\b(mrn|medical record|record (number|no)|hospital (number|no|id)|nhs|chi (number|no)|patient (number|no)|"
     r"ssn|social security|insurance (number|no)|national id|pid)\b", "a hospital or national patient number"),
    (r"\b(name|names|surname|forename|first ?name|last ?name|given name|family name|initials)\b", "a name"),
    (r"\b(address|street|postcode|post code|zip|phone|telephone|mobile|e ?mail)\b", "contact details"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS casereview_reviews (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL,
    created_by TEXT NOT NULL, list_name TEXT NOT NULL, list_sha256 TEXT NOT NULL, list_cases INTEGER NOT NULL,
    n INTEGER NOT NULL, seed TEXT NOT NULL, stratified INTEGER NOT NULL, checklist TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS casereview_cases (review_id INTEGER NOT NULL, position INTEGER NOT NULL,
    case_id TEXT NOT NULL, date TEXT NOT NULL, procedure TEXT NOT NULL, operator TEXT NOT NULL,
    PRIMARY KEY (review_id, position));
CREATE TABLE IF NOT EXISTS casereview_results (review_id INTEGER NOT NULL, case_id TEXT NOT NULL, item TEXT NOT NULL,
    result TEXT NOT NULL, note TEXT NOT NULL, recorded_by TEXT NOT NULL, recorded TEXT NOT NULL,
    PRIMARY KEY (review_id, case_id, item));
"""


class CaseListError(AccreditationError):
    """The case list cannot be used; nothing was stored."""


@dataclass(frozen=True)
class Case:
    case_id: str
    date: str  # ISO date of the procedure
    procedure: str
    operator: str


@dataclass(frozen=True)
class CaseList:
    name: str
    sha256: str
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class CaseReview:
    review_id: int
    created: str
    created_by: str
    list_name: str
    list_sha256: str
    list_cases: int
    n: int
    seed: str
    stratified: bool
    checklist: tuple[str, ...]
    cases: tuple[Case, ...]


@dataclass(frozen=True)
class ItemSummary:
    item: str
    yes: int
    no: int
    not_applicable: int
    failing: tuple[str, ...]  # case ids answered "no"

    @property
    def rate(self) -> float | None:
        """Share of applicable cases that meet the item."""
        return self.yes / (self.yes + self.no) if self.yes + self.no else None


def _norm(header: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", header.lower()).split())


def identifying_column(header: str) -> str | None:
    """What the column looks like when its header names patient-identifying data, else None."""
    h = _norm(header)
    for pattern, what in IDENTIFYING:
        if what == "a name" and re.search(r"\b(operator|procedure|treatment|file)\b", h):
            continue  # "operator name", "procedure name" are not about the patient
        if re.search(pattern, h):
            return what
    return None


def parse_case_list(text: str, name: str) -> CaseList:
    """The cases of a CSV case list. Raises CaseListError naming the column or line and the reason."""
    data = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(data))
    try:
        header = next(reader)
    except StopIteration:
        raise CaseListError(f"{name}: the file is empty") from None
    except csv.Error as exc:
        raise CaseListError(f"{name} line 1: not valid CSV ({exc})") from exc
    for col in header:
        what = identifying_column(col)
        if what:
            raise CaseListError(
                f"{name}: column '{col.strip()}' looks like {what} (patient-identifying data). Remove the column "
                f"and upload again: the case review needs only a pseudonymous case id, the procedure date, the "
                f"procedure type and the operator. Nothing was stored.")
    index: dict[str, int] = {}
    normalised = [_norm(c).replace(" ", "_") for c in header]
    for field, names in COLUMNS.items():
        for i, col in enumerate(normalised):
            if col in names or col.replace("_", " ") in names:
                index.setdefault(field, i)
    missing = [f for f in COLUMNS if f not in index]
    if missing:
        raise CaseListError(f"{name} line 1: missing column(s) {', '.join(missing)} (the header must name case_id, "
                            f"date, procedure and operator; found: {', '.join(h.strip() for h in header) or 'none'})")
    cases: list[Case] = []
    seen: dict[str, int] = {}
    problems: list[str] = []
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            values = {f: (row[i].strip() if i < len(row) else "") for f, i in index.items()}
            if not values["case_id"]:
                problems.append(f"{name} line {line}, field 'case_id': empty")
                continue
            if values["case_id"] in seen:
                problems.append(f"{name} line {line}, field 'case_id': {values['case_id']} repeats line "
                                f"{seen[values['case_id']]}")
                continue
            try:
                values["date"] = date.fromisoformat(values["date"]).isoformat()
            except ValueError:
                problems.append(f"{name} line {line}, field 'date': {values['date']!r} is not a date (YYYY-MM-DD)")
                continue
            if not values["procedure"]:
                problems.append(f"{name} line {line}, field 'procedure': empty")
                continue
            seen[values["case_id"]] = line
            cases.append(Case(**values))
    except csv.Error as exc:
        problems.append(f"{name} line {reader.line_num}: not valid CSV ({exc})")
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise CaseListError(f"{name}: nothing drawn, {len(problems)} problem(s):\n" + "\n".join(shown))
    if not cases:
        raise CaseListError(f"{name}: no cases in the list")
    return CaseList(name=name, sha256=hashlib.sha256(data.encode("utf-8")).hexdigest(), cases=tuple(cases))


def read_case_list(path: Path) -> CaseList:
    try:
        return parse_case_list(Path(path).read_bytes().decode("utf-8-sig"), str(path))
    except OSError as exc:
        raise CaseListError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise CaseListError(f"{path}: not UTF-8 text (save the list as UTF-8 CSV)") from exc


def draw_cases(cases: tuple[Case, ...] | list[Case], n: int, seed: str, stratify: bool = False) -> list[Case]:
    """n cases drawn at random, reproducibly: the same list (in any row order) and seed give the same cases.
    stratify: each procedure type gets its share of n (largest remainder, at least one each when n allows)."""
    if n < 1:
        raise CaseListError(f"the number of cases to draw must be at least 1 (got {n})")
    pool = sorted(cases, key=lambda c: c.case_id)  # the file's row order does not change the draw
    rng = random.Random(str(seed))
    if n >= len(pool):
        return pool
    if not stratify:
        return sorted(rng.sample(pool, n), key=lambda c: c.case_id)
    strata: dict[str, list[Case]] = {}
    for c in pool:
        strata.setdefault(c.procedure, []).append(c)
    quota = _allocate(n, {k: len(v) for k, v in sorted(strata.items())})
    drawn = [c for k in sorted(strata) for c in rng.sample(strata[k], quota[k])]
    return sorted(drawn, key=lambda c: (c.procedure, c.case_id))


def _allocate(n: int, sizes: dict[str, int]) -> dict[str, int]:
    total = sum(sizes.values())
    exact = {k: n * s / total for k, s in sizes.items()}
    quota = {k: int(v) for k, v in exact.items()}
    if n >= len(sizes):
        for k in quota:
            quota[k] = max(quota[k], 1)
    while sum(quota.values()) < n:
        k = max((k for k in sizes if quota[k] < sizes[k]), key=lambda k: (exact[k] - quota[k], sizes[k]))
        quota[k] += 1
    while sum(quota.values()) > n:
        k = max((k for k in sizes if quota[k] > 1), key=lambda k: (quota[k] - exact[k], sizes[k]))
        quota[k] -= 1
    return quota


class CaseReviews:
    """Stored draws (the drawn cases only, no identifying data), checklist results, summaries. Audited."""

    def __init__(self, path: Path | str, audit: AuditLog):
        self.path = Path(path)
        self.log = audit
        init_schema(self.path, SCHEMA)

    def draw(self, case_list: CaseList, n: int, seed: str, user: str, stratify: bool = False,
             checklist: tuple[str, ...] = DEFAULT_CHECKLIST) -> CaseReview:
        items = tuple(dict.fromkeys(" ".join(i.split()) for i in checklist if i.strip()))
        if not items:
            raise CaseListError("the checklist needs at least one item")
        seed = str(seed).strip()
        if not seed:
            raise CaseListError("a seed is needed, so that the draw can be repeated for an auditor")
        drawn = draw_cases(case_list.cases, n, seed, stratify)
        with transaction(self.path) as con:
            cur = con.execute("INSERT INTO casereview_reviews (created, created_by, list_name, list_sha256, "
                              "list_cases, n, seed, stratified, checklist) VALUES (?,?,?,?,?,?,?,?,?)",
                              (now_iso(), user or "anonymous", Path(case_list.name).name, case_list.sha256,
                               len(case_list.cases), n, seed, int(stratify), json.dumps(items)))
            review_id = int(cur.lastrowid)
            con.executemany("INSERT INTO casereview_cases VALUES (?,?,?,?,?,?)",
                            [(review_id, i, c.case_id, c.date, c.procedure, c.operator)
                             for i, c in enumerate(drawn)])
        self.log.audit("casereview_draw", {"review_id": review_id, "list_sha256": case_list.sha256, "n": n,
                                           "seed": seed, "stratified": stratify,
                                           "cases": [c.case_id for c in drawn]}, user=user)
        return self.get(review_id)

    def get(self, review_id: int) -> CaseReview:
        rows = rows_as_dicts(self.path, "SELECT * FROM casereview_reviews WHERE id=?", (review_id,))
        if not rows:
            raise CaseListError(f"No case review {review_id}")
        r = rows[0]
        cases = rows_as_dicts(self.path, "SELECT case_id, date, procedure, operator FROM casereview_cases "
                                         "WHERE review_id=? ORDER BY position", (review_id,))
        return CaseReview(review_id=int(r["id"]), created=r["created"], created_by=r["created_by"],
                          list_name=r["list_name"], list_sha256=r["list_sha256"], list_cases=int(r["list_cases"]),
                          n=int(r["n"]), seed=r["seed"], stratified=bool(r["stratified"]),
                          checklist=tuple(json.loads(r["checklist"])), cases=tuple(Case(**c) for c in cases))

    def latest(self) -> CaseReview | None:
        rows = rows_as_dicts(self.path, "SELECT MAX(id) AS id FROM casereview_reviews")
        return self.get(int(rows[0]["id"])) if rows and rows[0]["id"] is not None else None

    def record(self, review_id: int, case_id: str, item: str, result: str, user: str, note: str = "") -> None:
        review = self.get(review_id)
        if case_id not in {c.case_id for c in review.cases}:
            raise CaseListError(f"case {case_id!r} is not among the cases drawn for review {review_id}")
        if item not in review.checklist:
            raise CaseListError(f"{item!r} is not on this review's checklist ({'; '.join(review.checklist)})")
        if result not in RESULTS:
            raise CaseListError(f"result must be one of {', '.join(RESULTS)} (got {result!r})")
        with transaction(self.path) as con:
            con.execute("INSERT OR REPLACE INTO casereview_results VALUES (?,?,?,?,?,?,?)",
                        (review_id, case_id, item, result, note.strip(), user or "anonymous", now_iso()))
        self.log.audit("casereview_record", {"review_id": review_id, "case_id": case_id, "item": item,
                                             "result": result}, user=user)

    def results(self, review_id: int) -> dict[tuple[str, str], str]:
        rows = rows_as_dicts(self.path, "SELECT case_id, item, result FROM casereview_results WHERE review_id=?",
                             (review_id,))
        return {(r["case_id"], r["item"]): r["result"] for r in rows}

    def summary(self, review_id: int) -> tuple[list[ItemSummary], int]:
        """Per checklist item: counts, the rate and the failing cases; and how many cases are fully recorded."""
        review, results = self.get(review_id), self.results(review_id)
        out = []
        for item in review.checklist:
            got = [(c.case_id, results.get((c.case_id, item))) for c in review.cases]
            out.append(ItemSummary(item, sum(1 for _, r in got if r == "yes"), sum(1 for _, r in got if r == "no"),
                                   sum(1 for _, r in got if r == "n/a"),
                                   tuple(cid for cid, r in got if r == "no")))
        complete = sum(1 for c in review.cases if all((c.case_id, i) in results for i in review.checklist))
        return out, complete

    def status(self, required: int = 30) -> str:
        """"" when the latest review covers `required` cases, all recorded; else what is left (for readiness)."""
        review = self.latest()
        if review is None:
            return f"not started: draw {required} cases (Case review page or `ioguide casereview draw`)"
        _, complete = self.summary(review.review_id)
        if len(review.cases) < required:
            return f"review {review.review_id} has {len(review.cases)} cases; {required} are needed"
        if complete < len(review.cases):
            return f"{complete} of {len(review.cases)} cases recorded (review {review.review_id})"
        return ""


def format_summary(review: CaseReview, items: list[ItemSummary], complete: int) -> list[str]:
    lines = [f"Case review {review.review_id}: {len(review.cases)} of {review.list_cases} cases from "
             f"{review.list_name} (sha256 {review.list_sha256[:12]}), seed {review.seed!r}"
             f"{', stratified by procedure type' if review.stratified else ''}; {complete} fully recorded."]
    for s in items:
        rate = f"{s.rate:.0%}" if s.rate is not None else "-"
        lines.append(f"{s.item}: {rate} ({s.yes} yes, {s.no} no, {s.not_applicable} n/a)"
                     + (f"; failed: {', '.join(s.failing)}" if s.failing else ""))
    return lines


def review_json(review: CaseReview) -> dict[str, Any]:
    return {**{k: getattr(review, k) for k in ("review_id", "created", "created_by", "list_name", "list_sha256",
                                               "list_cases", "n", "seed", "stratified")},
            "checklist": list(review.checklist), "cases": [vars(c) for c in review.cases]}
