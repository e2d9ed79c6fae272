"""IO Guide's retriever as a LangChain BaseRetriever, so LangChain chains (LCEL, langchain_classic) can use it."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .retrieve import Filters, Retriever


class IOGuideRetriever(BaseRetriever):
    """Hybrid BM25 + dense + sentence retrieval; each Document carries the citation metadata."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    retriever: Retriever
    k: int = 5
    filters: Filters | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        result = self.retriever.retrieve(query, k=self.k, filters=self.filters)
        docs = []
        for hit in result.hits:
            c = hit.chunk
            docs.append(Document(page_content=c.text, id=c.chunk_id, metadata={
                "chunk_id": c.chunk_id, "doc_id": c.doc_id, "title": c.title, "edition": c.edition,
                "issuer": c.issuer, "section": c.section, "page_start": c.page_start, "page_end": c.page_end,
                "source": c.source, "source_url": c.source_url, "score": hit.score, "found_by": list(hit.found_by),
                "covered": result.covered, "relevance": result.relevance}))
        return docs
