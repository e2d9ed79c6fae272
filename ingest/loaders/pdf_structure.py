"""What a reader sees of a PDF's structure: the printed title and year, headings, and the parts that are not
guidance (references, affiliations, acknowledgements, funding, conflicts of interest, declarations), each marked
with a role so that answering can rank them below the body and not quote them unless asked.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ioguide.types import Section

from .pdf_chars import HEADING_SIZE, PageChars

ROLES = ("body", "references", "affiliations", "acknowledgements", "funding", "conflicts", "declarations")
_STRUCTURE = [
    ("references", r"references|bibliography|reference list|literature cited|works cited"),
    ("affiliations", r"author affiliations|affiliations|author details|authors'? information"),
    ("acknowledgements", r"acknowledge?ments?|contributors|author contributions"),
    ("funding", r"funding(?: sources?| information| statement)?|financial support|sources? of funding"),
    ("conflicts", r"(?:conflicts?|declarations?) of interests?|competing interests?|disclosures?|"
                  r"conflicts? of interest statement"),
    ("declarations", r"provenance and peer review|ethics approval|data availability|data sharing statement|"
                     r"open access|patient consent(?: for publication)?|copyright"),
]
_STRUCTURE_LINE = re.compile(
    r"^\s*(?:\d{1,2}\.?\s+)?(?P<h>" + "|".join(f"(?P<{role}>{pattern})" for role, pattern in _STRUCTURE) +
    r")\s*:?\s*$", re.I)
# A run-in heading: "Competing interests DAvH, TRC: received ...", "Funding JFL was supported ..." (journals set the
# back matter this way); the heading is followed on its line by a capital or a digit.
_STRUCTURE_RUNIN = re.compile(r"^\s*(?P<h>(?i:" + "|".join(f"(?P<{role}>{pattern})" for role, pattern in _STRUCTURE)
                              + r"))\s+(?=[A-Z0-9\u00c0-\u00de])")
_AFFILIATION = re.compile(r"\b(?:Department|Dept\.|University|Universit[àa]|Hospital|Institute|Clinic|Centre|Center|"
                          r"Faculty|School of|Servicio|Service d|Section of|Division of|Unit,)\b")
_ARTEFACT_TITLE = re.compile(
    r"^(?:microsoft\s+(?:word|powerpoint)|untitled|document\d*|title)\b|\.(?:docx?|pdf|indd|qxd|tex|rtf)\b|"
    r"^[A-Z]{2,}[-_ ]?\d{2}[-_ ]?\d{2,}|\d+\.\.\d+|^[\w-]*\d{3,}[\w-]*$|^\S+_\S+$", re.I)
_YEAR = re.compile(r"(?<!\d)(19[5-9]\d|20\d\d)(?!\d)")
_EDITION_WORDS = [r"edition|version|published|issued|updated|review(?:ed)? date|©|copyright", r"accepted",
                  r"received|revised"]
_NOT_HEADING = re.compile(r"^(?:table|figure|fig\.|box|grade|level of evidence|strength of recommendation|"
                          r"recommendation \d)\b", re.I)


def structure_role(heading: str) -> str | None:
    """The role a heading names ("Conflicts of interest" -> "conflicts"), or None for a body heading."""
    match = _STRUCTURE_LINE.match(heading)
    if not match:
        return None
    return next(role for role, _ in _STRUCTURE if match.group(role))


# ---------------------------------------------------------------- title and year

def printed_title(page: PageChars | None, furniture: set[str]) -> str:
    """The largest text in the top half of page 1 (consecutive lines of that size joined), if it reads as a
    title: 2 to 40 words, not a running line."""
    if page is None or not page.lines:
        return ""
    upper = [(i, line) for i, line in enumerate(page.lines) if line.top < 0.5 * page.height
             and line.text.strip() not in furniture and len(line.text.split()) >= 1]
    if not upper:
        return ""
    biggest = max(line.size for _, line in upper)
    if biggest < 1.2 * page.body_size:
        return ""
    index = [i for i, line in upper if line.size >= 0.97 * biggest]
    run = [index[0]]
    for i in index[1:]:
        if i == run[-1] + 1:
            run.append(i)
        else:
            break
    title = " ".join(page.lines[i].text.replace("\t", " ").strip() for i in run)
    title = re.sub(r"-\s+(?=[a-z])", "", re.sub(r"\s+", " ", title)).strip()
    return title if 2 <= len(title.split()) <= 40 else ""


def metadata_title_problem(title: str, page_one: str) -> str | None:
    """Why the PDF's /Title cannot be trusted, or None: empty, a word-processor or production artefact, or words
    that are not printed on page 1 (a template's left-over title)."""
    if len(title) < 4:
        return "absent"
    if _ARTEFACT_TITLE.search(title):
        return "a word-processor or production artefact"
    words = [w for w in re.findall(r"[^\W_]+", title.lower()) if len(w) > 2]
    printed = set(re.findall(r"[^\W_]+", page_one.lower()))
    if not words or sum(w in printed for w in words) / len(words) < 0.8:
        return "not printed on page 1"
    return None


def printed_year(page: PageChars | None, text: str) -> str:
    """The year printed near the top of page 1 beside 'edition', 'version', 'published', 'accepted' ... (the most
    telling word wins; the latest year on those lines)."""
    lines = [line.text for line in page.lines if line.top < 0.6 * page.height] if page is not None else \
        text.split("\n")[:40]
    for words in _EDITION_WORDS:
        years = [y for line in lines if re.search(words, line, re.I) for y in _YEAR.findall(line)]
        if years:
            return max(years)
    return ""


# ---------------------------------------------------------------- headings

def detected_headings(pages: list[PageChars | None], furniture: set[str], title: str) -> list[tuple[int, str]]:
    """(0-based page, heading line) for lines set larger or bold than the page's body, short, not a sentence, not
    a caption or a grade, not a list of names; the title lines are skipped."""
    found: list[tuple[int, str]] = []
    title_norm = re.sub(r"\s+", " ", title).strip().lower()
    for index, page in enumerate(pages):
        if page is None:
            continue
        for line in page.lines:
            text = line.text.strip()
            if not text or "\t" in text or text in furniture:
                continue
            larger = line.size >= HEADING_SIZE * page.body_size
            if not (larger or line.bold):
                continue
            words = text.split()
            if len(words) > 12 or text[-1] in ".,;:" or text.count(",") > 1 or _NOT_HEADING.match(text):
                continue
            if not (text[0].isupper() or text[0].isdigit()) or text.lower() in title_norm:
                continue
            found.append((index, text))
    return found


# ---------------------------------------------------------------- roles

def _split(section: Section, offset: int) -> tuple[Section, Section]:
    """Cut a section's text at offset; page breaks follow their text."""
    head_text, tail_raw = section.text[:offset], section.text[offset:]
    tail_text = tail_raw.lstrip()
    shift = offset + len(tail_raw) - len(tail_text)
    head_breaks = tuple((o, p) for o, p in section.page_breaks if o < len(head_text.rstrip()) or o == 0)
    page_at_shift = None
    tail_breaks: list[tuple[int, int]] = []
    for o, p in section.page_breaks:
        if o <= shift:
            page_at_shift = p
        else:
            tail_breaks.append((o - shift, p))
    if page_at_shift is not None:
        tail_breaks.insert(0, (0, page_at_shift))
    return (replace(section, text=head_text.rstrip(), page_breaks=head_breaks),
            replace(section, text=tail_text, page_breaks=tuple(tail_breaks)))


_LINE = re.compile(r"[^\n]+")


def _structure_cut(text: str) -> tuple[int, int, str] | None:
    """(line start, heading length to move into the path (0 for a run-in heading), role) of the first structure
    heading in text after its first line."""
    for m in _LINE.finditer(text):
        if m.start() == 0:
            continue
        role = structure_role(m.group(0))
        if role:
            return m.start(), len(m.group(0)), role
        runin = _STRUCTURE_RUNIN.match(m.group(0))
        if runin:
            return m.start(), 0, next(r for r, _ in _STRUCTURE if runin.group(r))
    return None


def _heading_of(text: str) -> str:
    line = text.split("\n", 1)[0].strip()
    runin = _STRUCTURE_RUNIN.match(line)
    return runin.group("h") if runin else line


AFFILIATION_MIN_HITS = 2  # institution words ("Department", "University", "Hospital" ...) in the block at least
AFFILIATION_MIN_SHARE = 0.4  # ... and this share of its characters on lines naming an institution or an e-mail
AFFILIATION_MAX_CHARS = 2500  # an author block is short; longer untitled front text is the document's own
AFFILIATION_MIN_CAPITALISED = 0.6  # institution lines are names: this share of their words capitalised at least
_NAME_GLUE = frozenset("of and the for de di du la le des del der und y & at in".split())


def _looks_like_affiliations(text: str) -> bool:
    """Front matter before the first heading that reads as an author and affiliation block, not as guidance: a
    short block mostly made of lines that name departments, hospitals or universities (a hospital policy that
    begins by naming its hospital once is guidance)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or len(text) > AFFILIATION_MAX_CHARS:
        return False
    hits = len(_AFFILIATION.findall(text))
    naming_lines = [line for line in lines if _AFFILIATION.search(line) or "@" in line]
    words = [w for line in naming_lines for w in re.findall(r"[^\W\d_][\w'.-]*", line) if w.lower() not in _NAME_GLUE]
    capitalised = sum(1 for w in words if w[0].isupper()) / len(words) if words else 0.0
    return (hits >= AFFILIATION_MIN_HITS and capitalised >= AFFILIATION_MIN_CAPITALISED
            and sum(map(len, naming_lines)) / sum(map(len, lines)) >= AFFILIATION_MIN_SHARE)


def mark_roles(sections: list[Section]) -> list[Section]:
    """Split sections at structure headings (a line of their own, or run in at the start of a line) and give
    every section a role: from its heading path ("References" -> references), from such a heading, or
    'affiliations' for a front-matter section before the first heading that lists departments and hospitals."""
    out: list[Section] = []
    for number, section in enumerate(sections):
        first_line = section.text.split("\n", 1)[0]
        runin = _STRUCTURE_RUNIN.match(first_line)
        role = next((r for r in map(structure_role, reversed(section.path)) if r), None) or \
            (next(r for r, _ in _STRUCTURE if runin.group(r)) if runin else "body")
        pieces: list[tuple[Section, str]] = []
        rest, current_role = section, role
        while (cut := _structure_cut(rest.text)) is not None:
            offset, head_len, cut_role = cut
            before, after = _split(rest, offset)
            pieces.append((before, current_role))
            heading = _heading_of(after.text)
            if head_len:
                _, after = _split(after, head_len)
            rest = replace(after, path=section.path[:-1] + (heading,) if section.path else (heading,))
            current_role = cut_role
        pieces.append((rest, current_role))
        for piece, piece_role in pieces:
            if number == 0 and not section.path and piece_role == "body" and len(sections) > 1 \
                    and _looks_like_affiliations(piece.text):
                piece_role = "affiliations"
            if piece.text.strip():
                out.append(replace(piece, role=piece_role))
    return out
