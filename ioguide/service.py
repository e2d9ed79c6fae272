"""The assistant: one object that entry points (cli, app, evaluate, draft) build once and ask questions of."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from .answer import abstain, compose_extractive, rewrite_follow_up
from .config import Settings
from .index import IndexHandle, open_index
from .retrieve import Filters, Retriever, Weights
from .types import Answer


@dataclass
class AskOptions:
    k: int = 5
    filters: Filters | None = None
    mode: str = "extractive"  # extractive | llm
    # The text is a statement to find evidence for (an accreditation requirement), not a question: the checks of
    # what a question asks for (a figure of a unit, a count, the question's specific words) do not apply.
    statement: bool = False


class Assistant:
    def __init__(self, handle: IndexHandle, weights: Weights | None = None, threshold: float | None = None,
                 candidates: int = 100, llm=None, exact_max_vectors: int | None = None):
        self.handle = handle
        self.store = handle.store
        self.embedder = handle.embedder
        self.retriever = Retriever(handle.store, handle.embedder, handle.bm25_dir, weights=weights,
                                   candidates=candidates, threshold=threshold,
                                   **({} if exact_max_vectors is None else {"exact_max_vectors": exact_max_vectors}))
        self.llm = llm

    @classmethod
    def from_settings(cls, settings: Settings, index_dir: Path | None = None, llm_name: str | None = None) -> Assistant:
        handle = open_index(index_dir or settings.index_dir, settings.chroma_url, settings.embedder,
                            settings.embedder_path)
        llm = None
        name = llm_name if llm_name is not None else settings.llm
        if name and name != "none":
            from .llms import build_llm

            llm = build_llm(name, settings)
        return cls(handle, Weights(settings.w_bm25, settings.w_dense, settings.w_sentence),
                   threshold=settings.abstain_threshold, candidates=settings.candidates, llm=llm,
                   exact_max_vectors=settings.exact_search_max_vectors)

    def stem(self, text: str) -> list[str]:
        return self.retriever.stem(text)

    def ask(self, question: str, history: list[str] | None = None, options: AskOptions | None = None,
            on_token=None) -> Answer:
        """Answer question (rewritten against history if it is a follow-up). Never raises for 'not found'."""
        options = options or AskOptions()
        t0 = time.perf_counter()
        question = " ".join(question.split())[:2000]
        query = rewrite_follow_up(question, history or [])
        if self.llm is not None and options.mode == "llm" and history:
            from .llms import rewrite_with_llm

            query = rewrite_with_llm(self.llm, question, history) or query
        retrieval = self.retriever.retrieve(query, k=options.k, filters=options.filters)
        retrieval.query = query
        if not query.strip():
            answer = abstain(question, retrieval, "extractive")
        elif options.mode == "llm" and self.llm is not None:
            from .llm_answer import compose_with_llm

            extractive = compose_extractive(question, retrieval, self.retriever, statement=options.statement)
            answer = compose_with_llm(question, retrieval, extractive, self.llm, self.embedder, self.retriever,
                                      on_token=on_token)
        else:
            answer = compose_extractive(question, retrieval, self.retriever, statement=options.statement)
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        return answer
