"""The IASIOS requirement catalogue: 13 standards in 3 sections with the known core/extended sub-items
(data/standards.yaml), requirement ids as people type them, and the list with any imported wording applied."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..errors import IOGuideError

if TYPE_CHECKING:
    from .store import AccreditationStore

STANDARDS_FILE = Path(__file__).resolve().parent.parent / "data" / "standards.yaml"
STATUSES = ("evidence found", "partial", "missing")
NOT_DRAFTED = "not drafted"
NOT_PUBLIC = "not public: import from your IASIOS Application Manual"
LEVELS = ("core", "extended")
# A requirement id as people type it: "S8.a", "8a", "8.a", "8(a)", "S8a", "Standard 8a", "standard 8 a", "Std 8 (a)".
_ID = re.compile(r"^\s*(?:s|std\.?|standard)?\s*(\d{1,2})\s*(?:[.\-]\s*)?\(?\s*([a-z])\s*\)?\s*$", re.I)
ID_FORMS = "S8.a (also typed 8a, 8.a, 8(a), S8a or Standard 8a)"


class AccreditationError(IOGuideError):
    pass


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
    """(standard, letter) for an id in any of the forms people type ("S8.a", "8a", "8(a)", "Standard 8 a"), or
    None when it is not an id of one of the standards."""
    m = _ID.match(value or "")
    if not m or int(m.group(1)) not in standards.section_of:
        return None
    return int(m.group(1)), m.group(2).lower()


def normalise_id(value: str) -> str:
    """The canonical "S8.a" for any typed form; text that is no id at all comes back stripped."""
    m = _ID.match(value or "")
    return f"S{int(m.group(1))}.{m.group(2).lower()}" if m else (value or "").strip()


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
    raise AccreditationError(f"Unknown requirement {requirement_id!r}: ids look like {ID_FORMS}; known ids: "
                             f"{known}, ... `ioguide coverage` lists them all.")

