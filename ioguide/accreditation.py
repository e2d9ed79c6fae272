"""Accreditation drafting: the IASIOS requirement list, imported official wording, one draft answer per
requirement with evidence from the centre's own documents, coverage, and the application export.

The structure (13 standards, 3 sections, core letters) comes from data/standards.yaml; the wording of the items is
not public, so a centre imports it from its IASIOS Application Manual. Imported wording and drafts live in the
app's SQLite file (tables prefixed `accreditation_`), never in the repository. Each draft asks the Assistant twice:
once over the guidelines, once over the centre's documents; only the centre's documents can count as evidence.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from .errors import IOGuideError
from .text import content_terms

STANDARDS_FILE = Path(__file__).parent / "data" / "standards.yaml"
STATUSES = ("evidence found", "partial", "missing")
NOT_DRAFTED = "not drafted"
NOT_PUBLIC = "not public: import from your IASIOS Application Manual"
LEVELS = ("core", "extended")
_ID = re.compile(r"^S(\d{1,2})\.([a-z])$")
_MARKER = re.compile(r"\[(\d+)\]")
_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


class AccreditationError(IOGuideError):
    pass


class StaffEditExists(AccreditationError):
    """A re-run would replace a staff-edited draft; pass force=True (the edit stays in the history)."""

    def __init__(self, draft: Draft):
        super().__init__(
            f"{draft.requirement_id} has a staff-edited draft (version {draft.version} by {draft.author}, "
            f"{draft.created}). Re-running would put a generated draft on top of it; use --force to do so "
            f"(the edit stays in the version history).")
        self.draft = draft


class WordingImportError(AccreditationError):
    """The wording file has problems; nothing was imported. problems: one message per line and field."""

    def __init__(self, name: str, problems: list[str]):
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        super().__init__(f"{name}: nothing imported, {len(problems)} problem(s):\n" + "\n".join(shown))
        self.problems = problems


# ---------------------------------------------------------------- the requirement list


@dataclass(frozen=True)
class Requirement:
    requirement_id: str  # "S8.a"
    standard: int
    letter: str
    section: int
    section_title: str
    level: str  # core | extended
    inferred: bool = False  # extended item implied by a gap in the core lettering
    title: str | None = None
    wording: str | None = None
    wording_status: str = NOT_PUBLIC
    description: str | None = None
    origin: str = "standards"  # standards | import (an item that only the imported wording names)

    @property
    def core(self) -> bool:
        return self.level == "core"

    def label(self) -> str:
        return f"{self.requirement_id} ({self.level}; Standard {self.standard}, {self.section_title})"


@dataclass(frozen=True)
class Standards:
    document: str
    sources: tuple[str, ...]
    sections: dict[int, str]  # section number -> title
    section_of: dict[int, int]  # standard number -> section number
    requirements: tuple[Requirement, ...]
    notes: tuple[str, ...] = ()

    def standards_without_items(self, requirements: list[Requirement] | None = None) -> list[int]:
        have = {r.standard for r in (requirements if requirements is not None else self.requirements)}
        return [n for n in sorted(self.section_of) if n not in have]


def load_standards(path: Path = STANDARDS_FILE) -> Standards:
    """The published structure: sections, standards and the known sub-items (no wording)."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    sections = {int(s["number"]): str(s["title"]) for s in data["sections"]}
    section_of = {int(n): int(s["number"]) for s in data["sections"] for n in s["standards"]}
    reqs = []
    for std in data["standards"]:
        n = int(std["number"])
        for item in std.get("items") or []:
            rid = str(item["id"])
            if rid != f"S{n}.{item['letter']}" or item["level"] not in LEVELS:
                raise AccreditationError(f"{path}: malformed item {item!r} in standard {n}")
            reqs.append(Requirement(
                requirement_id=rid, standard=n, letter=str(item["letter"]), section=section_of[n],
                section_title=sections[section_of[n]], level=item["level"], inferred=bool(item.get("inferred")),
                title=item.get("title"), wording=item.get("wording"),
                wording_status=item.get("wording_status") or NOT_PUBLIC, description=item.get("description")))
    return Standards(document=str(data.get("document", "")), sources=tuple(data.get("sources") or ()),
                     sections=sections, section_of=section_of, requirements=tuple(sorted(reqs, key=_order)),
                     notes=tuple(data.get("notes") or ()))


def _order(req: Requirement) -> tuple[int, str]:
    return req.standard, req.letter


def parse_requirement_id(value: str, standards: Standards) -> tuple[int, str] | None:
    """(standard, letter) for "S8.a" (case-insensitive), or None when it is not an id of Standards 1-13."""
    m = _ID.match(value.strip()[:1].upper() + value.strip()[1:].lower()) if value.strip() else None
    if not m or int(m.group(1)) not in standards.section_of:
        return None
    return int(m.group(1)), m.group(2)


def normalise_id(value: str) -> str:
    value = value.strip()
    return value[:1].upper() + value[1:].lower()


def requirement_list(standards: Standards, store: AccreditationStore | None = None) -> list[Requirement]:
    """The requirements with any imported wording applied; items that only the import names are added as extended
    (IASIOS: every sub-item not listed as core is extended)."""
    wording = store.wording() if store is not None else {}
    out = []
    for req in standards.requirements:
        w = wording.pop(req.requirement_id, None)
        if w:
            req = replace(req, title=w["title"] or req.title, wording=w["wording"], wording_status="imported")
        out.append(req)
    for rid, w in wording.items():
        parsed = parse_requirement_id(rid, standards)
        if parsed is None:
            continue
        n, letter = parsed
        sec = standards.section_of[n]
        out.append(Requirement(requirement_id=rid, standard=n, letter=letter, section=sec,
                               section_title=standards.sections[sec], level="extended", title=w["title"] or None,
                               wording=w["wording"], wording_status="imported", origin="import"))
    return sorted(out, key=_order)


def find_requirement(requirements: list[Requirement], requirement_id: str) -> Requirement:
    rid = normalise_id(requirement_id)
    for req in requirements:
        if req.requirement_id == rid:
            return req
    known = ", ".join(r.requirement_id for r in requirements[:6])
    raise AccreditationError(f"Unknown requirement {requirement_id!r}: ids look like S8.a ({known}, ...). "
                             f"`ioguide coverage` lists them all.")


# ---------------------------------------------------------------- wording import


@dataclass(frozen=True)
class WordingRow:
    requirement_id: str
    title: str | None
    wording: str
    line: int


@dataclass
class ImportReport:
    imported: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)  # ids not in standards.yaml, added as extended items
    notices: list[str] = field(default_factory=list)


def parse_wording(text: str, name: str, standards: Standards) -> tuple[list[WordingRow], list[str], list[str]]:
    """Rows, problems (each naming line and field) and notices from a CSV or YAML wording file.

    CSV columns: requirement_id, title (optional), wording. YAML: a list of mappings with the same keys (or
    {requirements: [...]}). Nothing here touches the database."""
    text = text.lstrip("\ufeff")
    if name.lower().endswith((".yaml", ".yml")):
        raw, problems, notices = _yaml_records(text, name)
    else:
        raw, problems, notices = _csv_records(text, name)
    rows: list[WordingRow] = []
    seen: dict[str, int] = {}
    for line, rec in raw:
        rid_text, rid_line = rec.get("requirement_id") or ("", line)
        w_text, w_line = rec.get("wording") or ("", line)
        t_text, _t_line = rec.get("title") or ("", line)
        rid_text = (rid_text or "").strip()
        if not rid_text:
            problems.append(f"{name} line {rid_line}, field 'requirement_id': empty")
            continue
        if parse_requirement_id(rid_text, standards) is None:
            problems.append(f"{name} line {rid_line}, field 'requirement_id': unknown id {rid_text!r} "
                            f"(ids look like S8.a: 'S', standard 1-13, '.', one letter)")
            continue
        rid = normalise_id(rid_text)
        if rid in seen:
            problems.append(f"{name} line {rid_line}, field 'requirement_id': {rid} repeats line {seen[rid]}")
            continue
        seen[rid] = rid_line
        wording = " ".join((w_text or "").split())
        if not wording:
            problems.append(f"{name} line {w_line}, field 'wording': empty wording for {rid}")
            continue
        rows.append(WordingRow(rid, " ".join((t_text or "").split()) or None, wording, line))
    if not raw and not problems:
        problems.append(f"{name} line 1: no requirements found")
    return rows, problems, notices


def _csv_records(text: str, name: str):
    problems: list[str] = []
    notices: list[str] = []
    records: list[tuple[int, dict[str, tuple[str, int]]]] = []
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return records, [f"{name} line 1: the file is empty"], notices
    except csv.Error as exc:
        return records, [f"{name} line 1: not valid CSV ({exc})"], notices
    columns = [h.strip().lower() for h in header]
    for required in ("requirement_id", "wording"):
        if required not in columns:
            problems.append(f"{name} line 1, field '{required}': missing column (the header must name "
                            f"requirement_id, wording and optionally title; found: {', '.join(columns) or 'none'})")
    if problems:
        return records, problems, notices
    extra = [c for c in columns if c not in ("requirement_id", "title", "wording")]
    if extra:
        notices.append(f"{name} line 1: column(s) ignored: {', '.join(extra)}")
    last = reader.line_num
    try:
        for row in reader:
            start, last = last + 1, reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) > len(columns):
                problems.append(f"{name} line {start}: {len(row)} fields but the header has {len(columns)} "
                                f"(put text that contains commas in double quotes)")
                continue
            records.append((start, {c: (row[i] if i < len(row) else "", start) for i, c in enumerate(columns)}))
    except csv.Error as exc:
        problems.append(f"{name} line {reader.line_num}: not valid CSV ({exc})")
    return records, problems, notices


def _yaml_records(text: str, name: str):
    problems: list[str] = []
    records: list[tuple[int, dict[str, tuple[str, int]]]] = []
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        return records, [f"{name}{where}: not valid YAML ({getattr(exc, 'problem', None) or exc})"], []
    if root is None:
        return records, [f"{name} line 1: the file is empty"], []
    if isinstance(root, yaml.MappingNode):
        inner = [v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "requirements"]
        if inner:
            root = inner[0]
    if not isinstance(root, yaml.SequenceNode):
        line = root.start_mark.line + 1
        return records, [f"{name} line {line}: expected a list of entries with requirement_id, title, wording"], []
    for item in root.value:
        line = item.start_mark.line + 1
        if not isinstance(item, yaml.MappingNode):
            problems.append(f"{name} line {line}: expected an entry with requirement_id, title and wording")
            continue
        rec: dict[str, tuple[str, int]] = {}
        for k, v in item.value:
            key = str(k.value).strip().lower()
            if key not in ("requirement_id", "title", "wording"):
                continue
            if not isinstance(v, yaml.ScalarNode):
                problems.append(f"{name} line {v.start_mark.line + 1}, field '{key}': must be text")
                continue
            value = "" if v.tag == "tag:yaml.org,2002:null" else str(v.value)
            rec[key] = (value, v.start_mark.line + 1)
        records.append((line, rec))
    return records, problems, []


def import_wording(text: str, name: str, standards: Standards, store: AccreditationStore,
                   user: str = "") -> ImportReport:
    """Validate the whole file, then store it (all or nothing). Raises WordingImportError naming line and field."""
    rows, problems, notices = parse_wording(text, name, standards)
    if problems:
        raise WordingImportError(name, problems)
    known = {r.requirement_id for r in standards.requirements}
    report = ImportReport(notices=list(notices))
    for row in rows:
        report.imported.append(row.requirement_id)
        if row.requirement_id not in known:
            report.added.append(row.requirement_id)
            report.notices.append(f"{name} line {row.line}: {row.requirement_id} is not among the known sub-items; "
                                  f"added as an extended item (IASIOS lists every core item)")
    store.put_wording(rows, source=name, user=user)
    return report


def import_wording_file(path: Path, standards: Standards, store: AccreditationStore, user: str = "") -> ImportReport:
    try:
        text = Path(path).read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise AccreditationError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
    except UnicodeDecodeError as exc:
        raise AccreditationError(f"{path}: not UTF-8 text (save the file as UTF-8 CSV)") from exc
    return import_wording(text, str(path), standards, store, user)


# ---------------------------------------------------------------- drafts and their storage


@dataclass(frozen=True)
class Evidence:
    collection: str  # centre | guidelines
    doc_id: str
    title: str
    source: str
    pages: tuple[int, ...]
    quotes: tuple[str, ...]
    markers: tuple[int, ...]

    def label(self) -> str:
        pages = (", p. " + ", ".join(str(p) for p in self.pages)) if self.pages else ""
        return f"{self.title}{pages}"


@dataclass(frozen=True)
class Draft:
    requirement_id: str
    text: str
    status: str
    reasons: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    answer: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # answer_to_json contract
    query: str = ""
    backend: str = ""
    relevance: float = 0.0
    wording_hash: str = ""
    index_fp: str = ""
    origin: str = "generated"  # generated | edited
    author: str = ""
    created: str = ""
    version: int = 0
    based_on: int | None = None

    @property
    def centre_evidence(self) -> tuple[Evidence, ...]:
        return tuple(e for e in self.evidence if e.collection == "centre")

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in ("requirement_id", "version", "created", "author", "origin", "status",
                                           "text", "query", "backend", "relevance", "wording_hash", "index_fp",
                                           "based_on")}
        d["reasons"] = list(self.reasons)
        d["evidence"] = [{**vars(e), "pages": list(e.pages), "quotes": list(e.quotes), "markers": list(e.markers)}
                         for e in self.evidence]
        d["answer"] = self.answer
        return d


SCHEMA = """
CREATE TABLE IF NOT EXISTS accreditation_wording (requirement_id TEXT PRIMARY KEY, title TEXT, wording TEXT NOT NULL,
    source TEXT, line INTEGER, imported TEXT, imported_by TEXT);
CREATE TABLE IF NOT EXISTS accreditation_drafts (id INTEGER PRIMARY KEY AUTOINCREMENT, requirement_id TEXT NOT NULL,
    version INTEGER NOT NULL, created TEXT NOT NULL, author TEXT NOT NULL, origin TEXT NOT NULL, status TEXT NOT NULL,
    text TEXT NOT NULL, draft_json TEXT NOT NULL, UNIQUE (requirement_id, version));
CREATE TRIGGER IF NOT EXISTS accreditation_drafts_keep BEFORE UPDATE ON accreditation_drafts
    BEGIN SELECT RAISE(ABORT, 'draft versions are kept as written'); END;
"""


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


class AccreditationStore:
    """Imported wording and every draft version, in the app's SQLite file (settings.data_dir / ioguide.sqlite3)."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as con:
            con.executescript(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        return con

    @contextlib.contextmanager
    def _transaction(self):
        """One write transaction (BEGIN IMMEDIATE: concurrent writers wait, never interleave), rolled back on error."""
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            yield con
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        finally:
            con.close()

    # wording
    def put_wording(self, rows: list[WordingRow], source: str, user: str = "") -> None:
        with self._transaction() as con:
            con.executemany("INSERT OR REPLACE INTO accreditation_wording VALUES (?,?,?,?,?,?,?)",
                            [(r.requirement_id, r.title, r.wording, source, r.line, now_iso(), user) for r in rows])

    def wording(self) -> dict[str, dict[str, Any]]:
        con = self._connect()
        try:
            con.row_factory = sqlite3.Row
            return {r["requirement_id"]: dict(r) for r in con.execute("SELECT * FROM accreditation_wording")}
        finally:
            con.close()

    def clear_wording(self) -> int:
        con = self._connect()
        try:
            return con.execute("DELETE FROM accreditation_wording").rowcount
        finally:
            con.close()

    # drafts
    def add_draft(self, draft: Draft) -> Draft:
        """Store draft as the requirement's next version; returns it with version, time and author set."""
        with self._transaction() as con:
            version = con.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM accreditation_drafts "
                                  "WHERE requirement_id=?", (draft.requirement_id,)).fetchone()[0]
            draft = replace(draft, version=int(version), created=draft.created or now_iso())
            con.execute("INSERT INTO accreditation_drafts (requirement_id, version, created, author, origin, status, "
                        "text, draft_json) VALUES (?,?,?,?,?,?,?,?)",
                        (draft.requirement_id, draft.version, draft.created, draft.author, draft.origin, draft.status,
                         draft.text, json.dumps(draft.to_json(), ensure_ascii=False)))
        return draft

    def _rows(self, sql: str, args: tuple = ()) -> list[Draft]:
        con = self._connect()
        try:
            return [_draft_from_row(r) for r in con.execute(sql, args)]
        finally:
            con.close()

    def latest(self, requirement_id: str) -> Draft | None:
        rows = self._rows("SELECT draft_json FROM accreditation_drafts WHERE requirement_id=? "
                          "ORDER BY version DESC LIMIT 1", (requirement_id,))
        return rows[0] if rows else None

    def latest_all(self) -> dict[str, Draft]:
        rows = self._rows("SELECT d.draft_json FROM accreditation_drafts d JOIN (SELECT requirement_id, "
                          "MAX(version) AS v FROM accreditation_drafts GROUP BY requirement_id) m "
                          "ON d.requirement_id = m.requirement_id AND d.version = m.v")
        return {d.requirement_id: d for d in rows}

    def history(self, requirement_id: str) -> list[Draft]:
        """Every version, newest first."""
        return self._rows("SELECT draft_json FROM accreditation_drafts WHERE requirement_id=? "
                          "ORDER BY version DESC", (requirement_id,))


def _draft_from_row(row: tuple) -> Draft:
    d = json.loads(row[0])
    evidence = tuple(Evidence(collection=e["collection"], doc_id=e["doc_id"], title=e["title"], source=e["source"],
                              pages=tuple(e["pages"]), quotes=tuple(e["quotes"]), markers=tuple(e["markers"]))
                     for e in d.get("evidence", []))
    return Draft(requirement_id=d["requirement_id"], text=d["text"], status=d["status"],
                 reasons=tuple(d.get("reasons", [])), evidence=evidence, answer=d.get("answer") or {},
                 query=d.get("query", ""), backend=d.get("backend", ""), relevance=float(d.get("relevance") or 0.0),
                 wording_hash=d.get("wording_hash", ""), index_fp=d.get("index_fp", ""), origin=d["origin"],
                 author=d["author"], created=d["created"], version=int(d["version"]), based_on=d.get("based_on"))


# ---------------------------------------------------------------- drafting


@dataclass(frozen=True)
class Thresholds:
    """Centre relevance (the retriever's absolute 0-1 scale) at or above `strong` with a quoted centre passage is
    "evidence found" (when the wording is imported or the passage names the item); at or above `weak`, "partial".
    Set on a test centre: passages written for a requirement score about 0.8, unrelated ones about 0.25-0.37."""

    strong: float = 0.6
    weak: float = 0.45


def wording_hash(req: Requirement) -> str:
    if not req.wording:
        return ""
    return hashlib.sha256(f"{req.title or ''}\n{req.wording}".encode()).hexdigest()[:16]


def build_query(req: Requirement) -> str:
    """The search text for a requirement: its imported wording, else what is known about it (section, number,
    any description). The generic form is weak by nature; the reasons say so."""
    if req.wording:
        return f"{req.title}: {req.wording}" if req.title else req.wording
    parts = [p for p in (req.title, req.section_title, f"IASIOS standard {req.standard} item {req.letter}",
                         req.description) if p]
    return " — ".join(parts)


def mentions_requirement(req: Requirement, text: str) -> bool:
    """True when text refers to the item explicitly: "S8.a", "Standard 8(a)", "Standard 8 item a", "Standard 8a"."""
    n, x = req.standard, req.letter
    pattern = (rf"\bS{n}\.{x}\b|(?i:standard)\s+{n}(?:\s*\(\s*{x}\s*\)|\.{x}\b|{x}\b|"
               rf"\s*,?\s+(?i:item|sub-?item|criterion)\s+\(?{x}\b)")
    return re.search(pattern, text) is not None


def _renumber(text: str, citations: list[dict], mapping: dict[int, int]) -> str:
    """Renumber the [n] markers of an answer. Extractive answers are rebuilt quote by quote, so a literature
    reference like "[3]" inside a quoted sentence is left alone."""
    if all(mapping.get(c["n"], c["n"]) == c["n"] for c in citations):
        return text
    out, pos = [], 0
    for c in citations:
        token = f"{c['quote']} [{c['n']}]"
        i = text.find(token, pos)
        if i < 0:
            break
        out += [text[pos:i], f"{c['quote']} [{mapping[c['n']]}]"]
        pos = i + len(token)
    else:
        return "".join(out) + text[pos:]
    return _MARKER.sub(lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", text)


def combine_answers(question: str, centre: dict[str, Any], guidelines: dict[str, Any],
                    centre_counts: bool = True) -> dict[str, Any]:
    """One answer (the answer_to_json contract) holding both. Cited passages come first and are numbered 1, 2, ...
    (centre documents before guidelines), then the uncited ones. centre_counts=False (status "missing"): the
    centre's closest passages are kept but not quoted as evidence."""
    centre = centre if centre_counts and centre["grounded"] else {**centre, "grounded": False, "citations": []}
    guidelines = guidelines if guidelines["grounded"] else {**guidelines, "citations": []}
    parts = [(centre, True), (guidelines, True), (centre, False), (guidelines, False)]
    maps: dict[int, dict[int, int]] = {id(centre): {}, id(guidelines): {}}
    passages = []
    for ans, cited_pass in parts:
        cited = {c["n"] for c in ans["citations"]}
        for p in ans["passages"]:
            if (p["n"] in cited) == cited_pass:
                maps[id(ans)][p["n"]] = len(passages) + 1
                passages.append({**p, "n": len(passages) + 1})
    citations = [{**c, "n": maps[id(ans)][c["n"]]} for ans in (centre, guidelines) for c in ans["citations"]]
    if centre["grounded"]:
        centre_text = _renumber(centre["answer"], centre["citations"], maps[id(centre)])
    else:
        centre_text = "None found: no passage of the centre's documents addresses this requirement."
    if guidelines["grounded"]:
        guide_text = _renumber(guidelines["answer"], guidelines["citations"], maps[id(guidelines)])
    else:
        guide_text = "The indexed guidelines do not address this requirement."
    text = f"Evidence from the centre's documents:\n{centre_text}\n\nGuideline context:\n{guide_text}"
    return {**centre, "question": question, "answer": text, "grounded": bool(centre["grounded"]),
            "citations": citations, "passages": passages,
            "notes": list(dict.fromkeys(list(centre.get("notes", [])) + list(guidelines.get("notes", []))))}


def evidence_from(answer: dict[str, Any]) -> tuple[Evidence, ...]:
    """Cited documents with their pages and quotes, centre documents first."""
    by_doc: dict[tuple[str, str], dict[str, Any]] = {}
    passages = {p["n"]: p for p in answer["passages"]}
    for c in answer["citations"]:
        p = passages.get(c["n"], {})
        key = (p.get("collection", "guidelines"), c["doc_id"])
        e = by_doc.setdefault(key, {"title": c["title"], "source": p.get("source_url") or c["source"],
                                    "pages": [], "quotes": [], "markers": []})
        if c.get("page") is not None and c["page"] not in e["pages"]:
            e["pages"].append(c["page"])
        if c["quote"] not in e["quotes"]:
            e["quotes"].append(c["quote"])
        if c["n"] not in e["markers"]:
            e["markers"].append(c["n"])
    out = [Evidence(collection=col, doc_id=doc, title=e["title"], source=e["source"], pages=tuple(sorted(e["pages"])),
                    quotes=tuple(e["quotes"]), markers=tuple(sorted(e["markers"])))
           for (col, doc), e in by_doc.items()]
    return tuple(sorted(out, key=lambda e: e.collection != "centre"))


def assess(req: Requirement, centre: dict[str, Any], has_centre_docs: bool,
           thresholds: Thresholds) -> tuple[str, list[str]]:
    """Status and the reasons for it, naming what matched."""
    reasons: list[str] = []
    if not req.wording:
        reasons.append(f"Wording not imported ({req.wording_status}): searched with the generic query "
                       f"{build_query(req)!r}, so a match can only be partial unless a centre document names "
                       f"{req.requirement_id} explicitly.")
    if not has_centre_docs:
        reasons.append("No centre documents are indexed: add them with `python -m ingest --collection centre PATH`.")
        return "missing", reasons
    rel = float(centre.get("relevance") or 0.0)
    cited = list(centre["citations"]) if centre["grounded"] else []
    explicit = [p for p in centre["passages"][:3] if mentions_requirement(req, p["text"])]
    if explicit:
        reasons.append(f"{explicit[0]['title']} names {req.requirement_id} explicitly.")
    q_terms = set(content_terms(build_query(req)))
    if not cited or rel < thresholds.weak:
        closest = cited[0] if cited else None
        if closest is not None:
            what = f"{_cite_label(closest)}: \"{_short(closest['quote'])}\""
        elif centre["passages"]:
            what = _passage_label(centre["passages"][0])
        else:
            reasons.append("Missing: no centre passage matched the query at all.")
            return "missing", reasons
        reasons.append(f"Missing: no centre passage matches well enough; the closest, {what}, scored relevance "
                       f"{rel:.2f} (needs {thresholds.weak:.2f} for partial, {thresholds.strong:.2f} for evidence).")
        return "missing", reasons
    for c in cited:
        matched = sorted(t for t in q_terms & set(content_terms(c["quote"])) if len(t) > 2)
        reasons.append(f"Centre document {_cite_label(c)} quoted: \"{_short(c['quote'])}\""
                       + (f" (matched terms: {', '.join(matched[:8])})" if matched else ""))
    if rel >= thresholds.strong and (req.wording or explicit):
        reasons.insert(0, f"Evidence found: centre relevance {rel:.2f} ≥ {thresholds.strong:.2f}.")
        return "evidence found", reasons
    why = (f"relevance {rel:.2f} is below {thresholds.strong:.2f}" if rel < thresholds.strong
           else "the requirement's wording is not imported")
    reasons.insert(0, f"Partial: a centre passage matches, but {why}; check that it meets the requirement.")
    return "partial", reasons


def _cite_label(c: dict[str, Any]) -> str:
    return c["title"] + (f", p. {c['page']}" if c.get("page") is not None else "")


def _passage_label(p: dict[str, Any]) -> str:
    page = p.get("page_start")
    return f"{p['title']}" + (f" (p. {page})" if page else "")


def _short(text: str, n: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def generate_draft(assistant, req: Requirement, k: int = 5, mode: str | None = None,
                   thresholds: Thresholds | None = None) -> Draft:
    """Ask the guidelines and the centre's documents separately; combine, assess and return an unsaved draft."""
    from .answer import answer_to_json
    from .retrieve import Filters
    from .service import AskOptions

    thresholds = thresholds or Thresholds()
    mode = mode or ("llm" if getattr(assistant, "llm", None) is not None else "extractive")
    query = build_query(req)
    centre = answer_to_json(assistant.ask(query, options=AskOptions(
        k=k, filters=Filters(collections=("centre",)), mode=mode)))
    guidelines = answer_to_json(assistant.ask(query, options=AskOptions(
        k=k, filters=Filters(collections=("guidelines",)), mode=mode)))
    has_centre = any(d.get("collection") == "centre" for d in assistant.retriever.documents())
    status, reasons = assess(req, centre, has_centre, thresholds)
    g_rel = float(guidelines.get("relevance") or 0.0)
    if guidelines["grounded"] and g_rel < thresholds.weak:
        # A loose guideline match reads as filler in an application: leave it out, say so.
        guidelines = {**guidelines, "grounded": False, "citations": []}
    answer = combine_answers(query, centre, guidelines, centre_counts=status != "missing")
    if not guidelines["grounded"]:
        reasons.append(f"The indexed guidelines do not address this requirement closely (relevance {g_rel:.2f}).")
    return Draft(requirement_id=req.requirement_id, text=answer["answer"], status=status, reasons=tuple(reasons),
                 evidence=evidence_from(answer), answer=answer, query=query, backend=centre.get("backend", mode),
                 relevance=float(centre.get("relevance") or 0.0), wording_hash=wording_hash(req),
                 index_fp=_fingerprint(assistant))


def _fingerprint(assistant) -> str:
    try:
        return str(assistant.store.fingerprint())
    except Exception:  # noqa: BLE001 - staleness is a convenience; drafting must not fail on it
        return ""


def draft_requirement(assistant, store: AccreditationStore, req: Requirement, author: str, force: bool = False,
                      k: int = 5, mode: str | None = None, thresholds: Thresholds | None = None) -> Draft:
    """Draft req and store it as a new version. Raises StaffEditExists when the latest version is a staff edit
    and force is False: a re-run never buries an edit silently (and never deletes one)."""
    latest = store.latest(req.requirement_id)
    if latest is not None and latest.origin == "edited" and not force:
        raise StaffEditExists(latest)
    draft = generate_draft(assistant, req, k=k, mode=mode, thresholds=thresholds)
    return store.add_draft(replace(draft, author=author or "anonymous", origin="generated",
                                   based_on=latest.version if latest else None))


def save_edit(store: AccreditationStore, requirement_id: str, text: str, author: str,
              status: str | None = None) -> Draft:
    """A staff edit: a new version with the edited text (evidence kept from the version it edits)."""
    if not text.strip():
        raise AccreditationError(f"{requirement_id}: the edited draft is empty; nothing saved.")
    if status is not None and status not in STATUSES:
        raise AccreditationError(f"Unknown status {status!r}; valid: {', '.join(STATUSES)}")
    author = author or "anonymous"
    base = store.latest(requirement_id)
    if base is None:
        base = Draft(requirement_id=requirement_id, text="", status=status or "missing",
                     reasons=("Written by staff; no generated draft.",), evidence=())
    reasons = list(base.reasons)
    if status is not None and status != base.status:
        reasons.insert(0, f"Status set to '{status}' by {author} (the check gave '{base.status}').")
    answer = {**base.answer, "answer": text} if base.answer else {}
    return store.add_draft(replace(base, text=text.strip(), status=status or base.status, reasons=tuple(reasons),
                                   answer=answer, origin="edited", author=author, created="",
                                   based_on=base.version or None))


# ---------------------------------------------------------------- coverage


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
    index_fp = _fingerprint(assistant) if assistant is not None else None
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


# ---------------------------------------------------------------- export

DISCLAIMER = ("Draft prepared with IO Guide, which is not official CIRSE or IASIOS material. The wording of the "
              "requirements is shown only where the centre imported it from its IASIOS Application Manual. Check "
              "every answer against the cited documents before submitting.")


@dataclass
class ApplicationItem:
    requirement: Requirement
    draft: Draft | None

    @property
    def gaps(self) -> list[str]:
        if self.draft is None:
            return ["Not drafted yet: run `ioguide coverage` or draft it on the Accreditation page."]
        if self.draft.status == "evidence found":
            return []
        head = {"missing": "No centre evidence found.",
                "partial": "Centre evidence is partial: confirm or add a document."}[self.draft.status]
        return [head] + [r for r in self.draft.reasons if not r.startswith(("Centre document ", "Evidence found:"))]


def application_items(requirements: list[Requirement], store: AccreditationStore) -> list[ApplicationItem]:
    latest = store.latest_all()
    return [ApplicationItem(r, latest.get(r.requirement_id)) for r in requirements]


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
                         title: str = "IASIOS application draft") -> str:
    items = application_items(requirements, store)
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
                     title: str = "IASIOS application draft") -> bytes:
    import docx
    from docx.shared import Cm

    items = application_items(requirements, store)
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
