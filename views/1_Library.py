"""Library: the indexed documents; upload the centre's own documents; re-index; delete."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ingest.index import refresh_side_indexes, sync
from ioguide.library import check_upload, documents_table, store_upload
from ui import components as ui

ctx, user = ui.page("Library", "📚", "centre_documents", "Library", need_assistant=True)
store = ctx.assistant.store
role = st.session_state.get("role")

rows = documents_table(store)
st.subheader(f"Indexed documents ({len(rows)})")
st.dataframe(rows, hide_index=True, width="stretch",
             column_order=["title", "issuer", "edition", "kind", "collection", "pages", "chunks", "indexed at"])

st.subheader("How a document was read")
st.caption("The title found and where it came from, the sections and their roles, per-page text quality, and what "
           "was set aside as references or page furniture: why a document answers as it does.")
readable = {r["doc_id"]: r for r in rows if r.get("source") and Path(r["source"]).is_file()}
chosen = st.selectbox("Document", [""] + list(readable), key="explain_doc",
                      format_func=lambda d: readable[d]["title"] if d else "choose ...")
if chosen:
    from ingest.explain import explain_file
    from ioguide.errors import IOGuideError

    try:
        explained = explain_file(Path(readable[chosen]["source"]),
                                 max_bytes=int(ctx.settings.max_file_mb * 1024 * 1024),
                                 max_pages=ctx.settings.max_pdf_pages)
    except IOGuideError as exc:
        st.error(str(exc))
    else:
        st.markdown(f"**Title:** {explained.info.title}  \n*from:* {explained.title_source}")
        report = explained.report
        if report is not None and report.metadata_title:
            verdict = f"rejected: {report.metadata_problem}" if report.metadata_problem else "consistent with page 1"
            st.markdown(f"*PDF metadata title:* {report.metadata_title} ({verdict})")
        st.markdown(f"**Edition:** {explained.info.edition or '(none)'}")
        if report is not None:
            st.dataframe(explained.page_rows(), hide_index=True, width="stretch")
            with st.expander(f"Page furniture removed ({len(report.furniture)} distinct lines)"):
                st.text("\n".join(report.furniture) or "(none)")
        st.dataframe(explained.section_rows(), hide_index=True, width="stretch")

st.subheader("Add the centre's documents")
st.caption("PDF, DOCX, Markdown, HTML or text: policies, SOPs, audit reports, minutes. They go into the centre's "
           "own collection, kept apart from the guidelines.")
files = st.file_uploader("Upload", type=["pdf", "docx", "md", "html", "htm", "txt"], accept_multiple_files=True)
if files and st.button("Index uploaded files", type="primary"):
    settings = ctx.settings
    target = settings.data_dir / "uploads" / "centre"
    saved = []
    for f in files:
        data = f.getvalue()
        reason = check_upload(f.name, data, int(settings.max_file_mb * 1024 * 1024))
        if reason:
            st.error(f"{f.name}: {reason}")
            continue
        saved.append(store_upload(target, f.name, data))
    if saved:
        with st.status(f"Indexing {len(saved)} file(s) ...", expanded=True) as status:
            bar = st.progress(0.0)
            report = sync(saved, store, ctx.assistant.embedder, ctx.assistant.retriever.bm25_dir,
                          collection="centre", max_bytes=int(settings.max_file_mb * 1024 * 1024),
                          max_pages=settings.max_pdf_pages,
                          progress=lambda n, total, name: bar.progress(n / max(total, 1), text=Path(name).name),
                          exact_max_vectors=settings.exact_search_max_vectors)
            for name, why in report.skipped:
                st.error(f"{Path(name).name}: {why}")
            status.update(label=report.summary().splitlines()[0], state="complete" if not report.skipped else "error")
        ctx.db.audit("upload", {"files": [p.name for p in saved], "indexed": len(report.indexed),
                                "skipped": report.skipped}, user=user)

if role == "admin":
    st.subheader("Maintenance")
    c1, c2 = st.columns(2)
    with c1:
        if st.button("Re-index the bundled corpus"):
            with st.status("Re-indexing corpus/ ...") as status:
                report = sync([ctx.settings.corpus_dir], store, ctx.assistant.embedder,
                              ctx.assistant.retriever.bm25_dir, exact_max_vectors=ctx.settings.exact_search_max_vectors)
                status.update(label=report.summary().splitlines()[0], state="complete")
            ctx.db.audit("reindex", {"indexed": len(report.indexed), "removed": len(report.removed)}, user=user)
    with c2:
        labels = {r["doc_id"]: f"{r['title']} ({r['collection']})" for r in rows}
        doomed = st.selectbox("Delete a document from the index", [""] + list(labels),
                              format_func=lambda d: labels.get(d, "choose ..."))
        if doomed and st.button(f"Delete {labels[doomed]}", type="secondary"):
            with st.spinner("Removing the document and refreshing the search indexes ..."):
                removed = store.delete_document(doomed)
                refresh_side_indexes(store, ctx.assistant.retriever.bm25_dir, ctx.settings.exact_search_max_vectors)
            ctx.db.audit("delete", {"doc_id": doomed, "chunks": removed}, user=user)
            st.success(f"Removed {labels[doomed]} ({removed} passages).")
            st.rerun()
