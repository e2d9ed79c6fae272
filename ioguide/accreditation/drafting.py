"""One draft answer per requirement: ask the centre's documents and the guidelines separately, combine the two
Answers (centre passages first), decide the automatic status with its reasons, and store it as a new version."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, replace

from ..text import citation_label, content_terms
from ..types import Answer, Citation, Hit
from .standards import STATUSES, AccreditationError, Requirement
from .store import AccreditationStore, Draft, Evidence


class StaffEditExists(AccreditationError):
    """A re-run would replace a staff-edited draft; pass force=True (the edit stays in the history)."""

    def __init__(self, draft: Draft):
        super().__init__(
            f"{draft.requirement_id} has a staff-edited draft (version {draft.version} by {draft.author}, "
            f"{draft.created}). Re-running would put a generated draft on top of it; use --force to do so "
            f"(the edit stays in the version history).")
        self.draft = draft


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


_MARKER = re.compile(r"\[(\d+)\]")
NO_CENTRE_TEXT = "None found: no passage of the centre's documents addresses this requirement."
NO_GUIDELINE_TEXT = "The indexed guidelines do not address this requirement."


def renumber_markers(answer: Answer, mapping: dict[int, int]) -> str:
    """answer.text with its [n] markers renumbered by mapping (the one place that renumbers). An extractive answer
    is its quotes, each followed by its marker (ioguide.answer.build_answer): it is rebuilt from its citations, so a
    literature reference like "[3]" inside a quoted sentence is left alone. Any other text (an LLM's own sentences)
    has its markers mapped."""
    if all(mapping.get(c.n, c.n) == c.n for c in answer.citations):
        return answer.text
    for sep in (" ", "\n"):
        if answer.citations and answer.text == sep.join(f"{c.quote} [{c.n}]" for c in answer.citations):
            return sep.join(f"{c.quote} [{mapping[c.n]}]" for c in answer.citations)
    return _MARKER.sub(lambda m: f"[{mapping.get(int(m.group(1)), int(m.group(1)))}]", answer.text)


def _uncited(answer: Answer) -> Answer:
    return replace(answer, grounded=False, citations=())


def combine_answers(question: str, centre: Answer, guidelines: Answer, centre_counts: bool = True) -> Answer:
    """One Answer holding both. Cited passages come first and are numbered 1, 2, ... (centre documents before
    guidelines), then the uncited ones. centre_counts=False (status "missing"): the centre's closest passages are
    kept but not quoted as evidence."""
    centre = centre if centre_counts and centre.grounded else _uncited(centre)
    guidelines = guidelines if guidelines.grounded else replace(guidelines, citations=())
    maps: dict[int, dict[int, int]] = {id(centre): {}, id(guidelines): {}}
    passages: list[Hit] = []
    for ans, cited_pass in ((centre, True), (guidelines, True), (centre, False), (guidelines, False)):
        cited = {c.n for c in ans.citations}
        for n, hit in enumerate(ans.passages, start=1):
            if (n in cited) == cited_pass:
                maps[id(ans)][n] = len(passages) + 1
                passages.append(hit)
    citations: list[Citation] = [replace(c, n=maps[id(ans)][c.n]) for ans in (centre, guidelines)
                                 for c in ans.citations]
    centre_text = renumber_markers(centre, maps[id(centre)]) if centre.grounded else NO_CENTRE_TEXT
    guide_text = renumber_markers(guidelines, maps[id(guidelines)]) if guidelines.grounded else NO_GUIDELINE_TEXT
    text = f"Evidence from the centre's documents:\n{centre_text}\n\nGuideline context:\n{guide_text}"
    return replace(centre, question=question, text=text, grounded=centre.grounded, citations=tuple(citations),
                   passages=tuple(passages), notes=tuple(dict.fromkeys(centre.notes + guidelines.notes)),
                   timings_ms=dict(centre.timings_ms))


def evidence_from(answer: Answer, versions: dict[str, dict] | None = None) -> tuple[Evidence, ...]:
    """Cited documents with their pages and quotes, centre documents first. versions: doc_id -> the indexed
    document's record (file_hash, indexed_at), so each link names the version it quotes."""
    versions = versions or {}
    by_doc: dict[tuple[str, str], dict] = {}
    for c in answer.citations:
        hit = answer.passages[c.n - 1] if 0 < c.n <= len(answer.passages) else None
        collection = hit.chunk.collection if hit is not None else "guidelines"
        source_url = hit.chunk.source_url if hit is not None else ""
        e = by_doc.setdefault((collection, c.doc_id), {"title": c.title, "source": source_url or c.source,
                                                       "pages": [], "quotes": [], "markers": []})
        if c.page is not None and c.page not in e["pages"]:
            e["pages"].append(c.page)
        if c.quote not in e["quotes"]:
            e["quotes"].append(c.quote)
        if c.n not in e["markers"]:
            e["markers"].append(c.n)
    out = [Evidence(collection=col, doc_id=doc, title=e["title"], source=e["source"], pages=tuple(sorted(e["pages"])),
                    quotes=tuple(e["quotes"]), markers=tuple(sorted(e["markers"])),
                    file_hash=str(versions.get(doc, {}).get("file_hash") or ""),
                    indexed_at=str(versions.get(doc, {}).get("indexed_at") or ""))
           for (col, doc), e in by_doc.items()]
    return tuple(sorted(out, key=lambda e: e.collection != "centre"))


def assess(req: Requirement, centre: Answer, has_centre_docs: bool, thresholds: Thresholds) -> tuple[str, list[str]]:
    """The automatic status and the reasons for it, naming what matched."""
    reasons: list[str] = []
    if not req.wording:
        reasons.append(f"Wording not imported ({req.wording_status}): searched with the generic query "
                       f"{build_query(req)!r}, so a match can only be partial unless a centre document names "
                       f"{req.requirement_id} explicitly.")
    if not has_centre_docs:
        reasons.append("No centre documents are indexed: add them with `python -m ingest --collection centre PATH`.")
        return "missing", reasons
    rel = float(centre.relevance or 0.0)
    cited = list(centre.citations) if centre.grounded else []
    explicit = [h for h in centre.passages[:3] if mentions_requirement(req, h.chunk.text)]
    if explicit:
        reasons.append(f"{explicit[0].chunk.title} names {req.requirement_id} explicitly.")
    q_terms = set(content_terms(build_query(req)))
    if not cited or rel < thresholds.weak:
        closest = cited[0] if cited else None
        if closest is not None:
            what = f"{_cite_label(closest)}: \"{_short(closest.quote)}\""
        elif centre.passages:
            what = _passage_label(centre.passages[0])
        else:
            reasons.append("Missing: no centre passage matched the query at all.")
            return "missing", reasons
        reasons.append(f"Missing: no centre passage matches well enough; the closest, {what}, scored relevance "
                       f"{rel:.2f} (needs {thresholds.weak:.2f} for partial, {thresholds.strong:.2f} for evidence).")
        return "missing", reasons
    for c in cited:
        matched = sorted(t for t in q_terms & set(content_terms(c.quote)) if len(t) > 2)
        reasons.append(f"Centre document {_cite_label(c)} quoted: \"{_short(c.quote)}\""
                       + (f" (matched terms: {', '.join(matched[:8])})" if matched else ""))
    if rel >= thresholds.strong and (req.wording or explicit):
        reasons.insert(0, f"Evidence found: centre relevance {rel:.2f} ≥ {thresholds.strong:.2f}.")
        return "evidence found", reasons
    why = (f"relevance {rel:.2f} is below {thresholds.strong:.2f}" if rel < thresholds.strong
           else "the requirement's wording is not imported")
    reasons.insert(0, f"Partial: a centre passage matches, but {why}; check that it meets the requirement.")
    return "partial", reasons


def _cite_label(c: Citation) -> str:
    return citation_label(c.title, c.edition, pages=[c.page])


def _passage_label(hit: Hit) -> str:
    return citation_label(hit.chunk.title, hit.chunk.edition, pages=[hit.chunk.page_start])


def _short(text: str, n: int = 140) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"


def generate_draft(assistant, req: Requirement, k: int = 5, mode: str | None = None,
                   thresholds: Thresholds | None = None) -> Draft:
    """Ask the guidelines and the centre's documents separately; combine, assess and return an unsaved draft."""
    from ..answer import answer_to_json
    from ..retrieve import Filters
    from ..service import AskOptions

    thresholds = thresholds or Thresholds()
    mode = mode or ("llm" if getattr(assistant, "llm", None) is not None else "extractive")
    query = build_query(req)
    # A requirement is a statement to find evidence for, not a question (AskOptions.statement).
    centre = assistant.ask(query, options=AskOptions(k=k, filters=Filters(collections=("centre",)), mode=mode,
                                                     statement=True))
    guidelines = assistant.ask(query, options=AskOptions(k=k, filters=Filters(collections=("guidelines",)),
                                                         mode=mode, statement=True))
    documents = assistant.retriever.documents()
    has_centre = any(d.get("collection") == "centre" for d in documents)
    status, reasons = assess(req, centre, has_centre, thresholds)
    g_rel = float(guidelines.relevance or 0.0)
    if guidelines.grounded and g_rel < thresholds.weak:
        # A loose guideline match reads as filler in an application: leave it out, say so.
        guidelines = _uncited(guidelines)
    answer = combine_answers(query, centre, guidelines, centre_counts=status != "missing")
    if not guidelines.grounded:
        reasons.append(f"The indexed guidelines do not address this requirement closely (relevance {g_rel:.2f}).")
    return Draft(requirement_id=req.requirement_id, text=answer.text, status=status, reasons=tuple(reasons),
                 evidence=evidence_from(answer, {d["doc_id"]: d for d in documents}), answer=answer_to_json(answer),
                 query=query, backend=centre.backend or mode, relevance=float(centre.relevance or 0.0),
                 wording_hash=wording_hash(req), index_fp=index_fingerprint(assistant))


def index_fingerprint(assistant) -> str:
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

