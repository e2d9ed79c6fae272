"""Evidence that stays current: each evidence link names the version of the centre document it quotes (content hash,
index date). When that document is re-indexed with changes, or removed, the requirements citing it are flagged for
re-check, saying what changed (which quoted sentences are gone, which are still there)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .store import Draft


@dataclass(frozen=True)
class RecheckFlag:
    requirement_id: str
    doc_id: str
    title: str
    change: str  # changed | removed
    quoted_hash: str  # the version the draft quoted
    current_hash: str  # "" when removed
    indexed_at: str  # when the current version was indexed ("" when removed)
    quotes_gone: tuple[str, ...] = ()
    quotes_kept: tuple[str, ...] = ()

    def message(self) -> str:
        if self.change == "removed":
            return (f"{self.requirement_id}: '{self.title}' was removed from the index; the draft quotes it as "
                    f"evidence. Re-check the requirement.")
        what = (f"{len(self.quotes_gone)} quoted sentence(s) no longer in it: "
                + "; ".join(f'"{_short(q)}"' for q in self.quotes_gone)) if self.quotes_gone else \
            "the quoted sentences are still there, other text changed"
        return (f"{self.requirement_id}: '{self.title}' was re-indexed with changes on {self.indexed_at[:10]} "
                f"(version {self.quoted_hash[:8]} -> {self.current_hash[:8]}); {what}. Re-check the requirement.")


def recheck_flags(drafts: dict[str, Draft], documents: list[dict], document_text: Callable[[str], str],
                  acknowledged: dict[tuple[str, str], str] | None = None) -> list[RecheckFlag]:
    """One flag per (requirement, centre document) whose quoted version is no longer the indexed one and was not
    re-checked since. documents: the index's document records (doc_id, file_hash, indexed_at); document_text:
    doc_id -> the document's current text, to tell which quotes survived."""
    acknowledged = acknowledged or {}
    current = {d["doc_id"]: d for d in documents}
    texts: dict[str, str] = {}
    flags = []
    for rid in sorted(drafts, key=_order):
        for e in drafts[rid].centre_evidence:
            if not e.file_hash:
                continue  # drafted before versions were recorded: nothing to compare
            doc = current.get(e.doc_id)
            now_hash = str(doc.get("file_hash") or "") if doc else ""
            if now_hash == e.file_hash or acknowledged.get((rid, e.doc_id)) == (now_hash or "removed"):
                continue
            if doc is None:
                flags.append(RecheckFlag(rid, e.doc_id, e.title, "removed", e.file_hash, "", ""))
                continue
            if e.doc_id not in texts:
                texts[e.doc_id] = " ".join(document_text(e.doc_id).split())
            gone = tuple(q for q in e.quotes if " ".join(q.split()) not in texts[e.doc_id])
            kept = tuple(q for q in e.quotes if q not in gone)
            flags.append(RecheckFlag(rid, e.doc_id, e.title, "changed", e.file_hash, now_hash,
                                     str(doc.get("indexed_at") or ""), gone, kept))
    return flags


def store_document_text(store) -> Callable[[str], str]:
    """doc_id -> text of its chunks in order, read through the index store's public methods."""
    def text(doc_id: str) -> str:
        chunks = sorted(store.get_chunks(store.chunk_ids_for_doc(doc_id)), key=lambda c: c.ordinal)
        return "\n".join(c.text for c in chunks)
    return text


def _order(rid: str) -> tuple[int, str]:
    n, _, letter = rid[1:].partition(".")
    return int(n) if n.isdigit() else 0, letter


def _short(text: str, n: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "…"
