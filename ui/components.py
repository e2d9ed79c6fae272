"""Streamlit pieces: cached heavy objects, the header, the sidebar, answer and source-card rendering."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ioguide.answer import answer_from_json, answer_to_json
from ioguide.config import Settings
from ioguide.errors import IOGuideError
from ioguide.render import STYLE, answer_html, passage_html, source_label
from ioguide.retrieve import Filters
from ioguide.storage import LocalDB
from ioguide.text import citation_label
from ioguide.types import Answer, Hit
from ui import auth
from ui.verification import show_removed

CHAT_PLACEHOLDER = "Ask about IASIOS accreditation or the CIRSE IO guidelines"  # browser tests find the box by it
DISCLAIMER = ("IO Guide is **not official CIRSE or IASIOS material** and **not a substitute for clinical judgement**. "
              "Bundled documents are the IO Guide team's own summaries of public sources; check each answer "
              "against the cited passage and the official document.")


@st.cache_resource(show_spinner="Loading the index and the embedding model ...")
def get_assistant(index_dir: str, chroma_url: str, llm: str):
    from ioguide.service import Assistant

    settings = Settings()
    assistant = Assistant.from_settings(settings, Path(index_dir), llm_name=llm)
    assistant.retriever.retrieve("warm up", k=1)  # loads model weights and BM25 before the first real question
    return assistant


@st.cache_resource
def get_db(path: str) -> LocalDB:
    return LocalDB(path)


@dataclass
class Context:
    settings: Settings
    assistant: object | None
    db: LocalDB
    error: str = ""


def context(load: bool = True) -> Context:
    """Settings, the local database and (unless load=False: call load_assistant later) the assistant."""
    settings = Settings()
    ctx = Context(settings, None, get_db(str(settings.db_path)))
    if load:
        load_assistant(ctx)
    return ctx


def load_assistant(ctx: Context) -> None:
    """Fill ctx.assistant (built once per process), or ctx.error with the reason it cannot be built."""
    try:
        ctx.assistant = get_assistant(str(ctx.settings.index_dir), ctx.settings.chroma_url, ctx.settings.llm)
    except IOGuideError as exc:
        ctx.assistant, ctx.error = None, str(exc)


def page(tab: str, icon: str, permission: str, heading: str, *, load: bool = True,
         need_assistant: bool = False) -> tuple[Context, str]:
    """The preamble every page of views/ shares: tab title and icon, settings and database (and the assistant unless
    load=False), the login gate for `permission`, the header. With need_assistant the page stops here, showing why,
    when the assistant cannot be built. Returns the context and the signed-in user's name."""
    st.set_page_config(page_title=f"IO Guide · {tab}", page_icon=icon, layout="wide")
    ctx = context(load)
    user = auth.require(ctx, permission)
    header(heading)
    if need_assistant:
        stop_without_assistant(ctx)
    return ctx, user


def stop_without_assistant(ctx: Context) -> None:
    """Show why the assistant could not be built and stop the page, when it could not."""
    if ctx.assistant is None:
        st.error(ctx.error)
        st.stop()


def header(title: str = "IO Guide") -> None:
    st.markdown(STYLE, unsafe_allow_html=True)  # our own constant CSS, no user or document text
    st.title(title)
    st.caption(DISCLAIMER)


def sidebar(ctx: Context) -> tuple[Filters, str, int]:
    with st.sidebar:
        st.header("Search settings")
        docs = ctx.assistant.retriever.documents() if ctx.assistant else []
        where = st.radio("Search in", ["All documents", "Guidelines only", "Our centre's documents only"],
                         key="where")
        titles = {d["doc_id"]: citation_label(d.get("title", d["doc_id"]), d.get("edition", "")) for d in docs}
        chosen_docs = st.multiselect("Documents", list(titles), format_func=lambda d: titles[d], key="docs")
        topics = sorted({t for d in docs for t in d.get("topics", [])})
        chosen_topics = st.multiselect("Topics", topics, key="topics")
        editions = sorted({str(d.get("edition")) for d in docs if d.get("edition")})
        chosen_editions = st.multiselect("Editions", editions, key="editions")
        modes = ["extractive"] + (["llm"] if ctx.assistant and ctx.assistant.llm is not None else [])
        mode = st.radio("Answer mode", modes, key="mode",
                        help="Extractive quotes the documents directly. LLM mode needs IOGUIDE_LLM configured; "
                             "its sentences are verified against the passages.")
        k = st.slider("Passages to retrieve (k)", 1, 15, ctx.settings.k, key="k")
        collections = {"Guidelines only": ("guidelines",), "Our centre's documents only": ("centre",)}.get(where, ())
        filters = Filters(doc_ids=tuple(chosen_docs), topics=tuple(chosen_topics), editions=tuple(chosen_editions),
                          collections=collections)
    return filters, mode, k


def show_answer(answer: Answer, key: str) -> None:
    """The answer (markers link to source cards), then one card per cited passage."""
    if answer.query and answer.query != answer.question:
        st.caption(f"Searched as: {answer.query}")
    if not answer.grounded:
        st.markdown("**Not covered by the indexed documents**")
    st.html(answer_html(answer, anchor_prefix=f"{key}-src"))
    for note in answer.notes:
        st.info(note)
    show_removed(answer)
    cited = {c.n for c in answer.citations}
    for n, hit in enumerate(answer.passages, start=1):
        if n not in cited:
            continue
        cites = [c for c in answer.citations if c.n == n]
        quotes = [(c.start, c.end) for c in cites]
        pages = sorted({c.page for c in cites if c.page})
        with st.expander(f"[{n}] {source_label(hit, pages)}", expanded=len(cited) <= 2):
            st.html(passage_html(hit, quotes, n, anchor_prefix=f"{key}-src"))
            _open_source(hit, n, pages, cites[0].quote, key)


def _open_source(hit: Hit, n: int, pages: list[int], quote: str, key: str) -> None:
    chunk = hit.chunk
    source = chunk.source or chunk.source_url
    if source.lower().endswith(".pdf") and Path(source).exists():
        page = pages[0] if pages else chunk.page_start or 1
        if st.button(f"Open {Path(source).name} at page {page}", key=f"{key}-open-{n}"):
            from ioguide.pdfpage import render_page

            try:
                image, found = render_page(source, page, quote)
                st.image(image, caption=f"{Path(source).name}, page {page}"
                         + (" (cited passage marked)" if found else " (passage not located on the image)"))
            except Exception as exc:  # noqa: BLE001 - a broken PDF must not break the chat
                st.warning(f"Cannot render {Path(source).name} page {page}: {exc}")
    else:
        if chunk.section:
            st.caption(f"Section: {chunk.section}")
        if chunk.source_url:
            st.markdown(f"Official source: [{chunk.source_url}]({chunk.source_url})")
        for url in chunk.section_sources[:5]:
            st.caption(f"Section source: {url}")


def answers_of(turns: list[tuple[str, dict]]) -> list[tuple[str, Answer]]:
    """Stored turns (question, answer JSON) as (question, Answer)."""
    return [(question, answer_from_json(payload)) for question, payload in turns]


def to_json(answer) -> dict:
    return answer_to_json(answer)
