"""Import of the official wording of the requirements (CSV or YAML from the centre's IASIOS Application Manual):
the whole file is checked first, every problem named by line and field, then stored all or nothing."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from .standards import ID_FORMS, AccreditationError, Standards, normalise_id, parse_requirement_id

if TYPE_CHECKING:
    from .store import AccreditationStore


class WordingImportError(AccreditationError):
    """The wording file has problems; nothing was imported. problems: one message per line and field."""

    def __init__(self, name: str, problems: list[str]):
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        super().__init__(f"{name}: nothing imported, {len(problems)} problem(s):\n" + "\n".join(shown))
        self.problems = problems


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
                            f"(ids look like {ID_FORMS}, standard 1-13)")
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

