"""IASIOS accreditation: coverage of the requirements by the centre's documents, drafts, staff edits, export.
Thin: widgets and rendering only; the logic lives in ioguide/accreditation.py."""

from __future__ import annotations

import altair as alt
import streamlit as st

from ioguide import accreditation as acc
from ioguide.answer import answer_from_json
from ui import auth
from ui import components as ui

ctx = ui.context()
user = auth.require(ctx, "draft")
author = st.session_state.get("user") or user or "anonymous"
ui.header("IASIOS accreditation")


@st.cache_resource
def get_store(path: str) -> acc.AccreditationStore:
    return acc.AccreditationStore(path)


store = get_store(str(ctx.db.path))
standards = acc.load_standards()
reqs = acc.requirement_list(standards, store)
by_id = {r.requirement_id: r for r in reqs}

with st.sidebar:
    st.header("Official wording")
    st.caption("The wording of the standards is not public. Import it from your IASIOS Application Manual as CSV "
               "(requirement_id, title, wording) or YAML. It is stored locally, never shared.")
    upload = st.file_uploader("Wording file", type=["csv", "yaml", "yml"], key="wording-file")
    if upload is not None and st.button("Import wording", key="import-wording"):
        try:
            report = acc.import_wording(upload.getvalue().decode("utf-8-sig"), upload.name, standards, store, author)
            ctx.db.audit("accreditation_import_wording", {"file": upload.name, "imported": report.imported}, author)
            st.success(f"Imported wording for {len(report.imported)} requirement(s).")
            for notice in report.notices:
                st.info(notice)
            reqs = acc.requirement_list(standards, store)
            by_id = {r.requirement_id: r for r in reqs}
        except UnicodeDecodeError:
            st.error(f"{upload.name}: not UTF-8 text; save it as UTF-8 CSV.")
        except acc.AccreditationError as exc:
            st.error(str(exc).replace("\n", "  \n"))

# ---------------------------------------------------------------- coverage
st.subheader("Coverage")
if st.button("Run coverage check", key="run-coverage", help="Drafts every requirement that has no draft, or whose "
             "generated draft is out of date (new wording or documents). Staff edits are kept."):
    if ctx.assistant is None:
        st.error(ctx.error)
    else:
        bar = st.progress(0.0, text="Checking requirements ...")
        acc.coverage(reqs, store, ctx.assistant, author=author,
                     progress=lambda i, n, rid: bar.progress(i / n, text=f"Checking {rid} ({i}/{n})"))
        bar.empty()
        ctx.db.audit("accreditation_coverage", {"requirements": len(reqs)}, author)
rows = acc.coverage(reqs, store)

cols = st.columns(3)
sections = cols[0].multiselect("Section", list(standards.sections), key="f-section",
                               format_func=lambda n: f"{n}: {standards.sections[n]}")
levels = cols[1].multiselect("Core / extended", list(acc.LEVELS), key="f-level")
statuses = cols[2].multiselect("Status", [*acc.STATUSES, acc.NOT_DRAFTED], key="f-status")
shown = acc.filter_rows(rows, tuple(sections), tuple(levels), tuple(statuses))
st.dataframe([{"Requirement": r.requirement_id, "Standard": r.standard, "Section": r.section_title,
               "Level": r.level + (" (inferred)" if r.inferred else ""), "Status": r.status,
               "Evidence": "; ".join(r.evidence), "Wording": "imported" if r.wording_imported else "not public",
               "Version": r.version, "Last by": f"{r.author} ({r.origin})" if r.origin else ""} for r in shown],
             hide_index=True, width="stretch", key="coverage-table")
lacking = standards.standards_without_items(reqs)
if lacking:
    st.caption(f"Standards {', '.join(map(str, lacking))}: sub-items not public (none is core); import the wording "
               "to add them. Inferred extended items are implied by the lettering of the core items.")
chart = alt.Chart(alt.Data(values=acc.status_counts(rows))).mark_bar().encode(
    x=alt.X("level:N", title=None), y=alt.Y("count:Q", title="Requirements"),
    color=alt.Color("status:N", scale=alt.Scale(domain=[*acc.STATUSES, acc.NOT_DRAFTED],
                                                range=["#2f855a", "#d69e2e", "#c53030", "#a0aec0"])),
    tooltip=["level:N", "status:N", "count:Q"])
st.altair_chart(chart, width="stretch")

if st.button("What are we missing for Accredited Centre?", key="missing-btn"):
    st.session_state["show-missing"] = True
if st.session_state.get("show-missing"):
    gap = acc.missing_for_accredited(rows)
    if not gap:
        st.success("Every core requirement has evidence found in the centre's documents.")
    else:
        st.warning(f"{len(gap)} core requirement(s) lack clear evidence (plus the internal case review of 30 "
                   "randomly selected patients that every Accredited Centre completes):")
        st.markdown("\n".join(f"- **{r.requirement_id}** ({r.section_title}): {r.status}" for r in gap))

# ---------------------------------------------------------------- one requirement
st.subheader("Draft answer")
status_of = {r.requirement_id: r.status for r in rows}


def go_to_requirement() -> None:
    """The search box takes an id as people type it ("8a", "Standard 8 a") and selects that requirement."""
    typed = st.session_state.get("req-search", "").strip()
    st.session_state.pop("req-search-error", None)
    if not typed:
        return
    try:
        st.session_state["req"] = acc.find_requirement(reqs, typed).requirement_id
    except acc.AccreditationError as exc:
        st.session_state["req-search-error"] = str(exc)


st.text_input("Find a requirement", key="req-search", on_change=go_to_requirement,
              placeholder="e.g. 8a, S8.a, Standard 8 a")
if st.session_state.get("req-search-error"):
    st.error(st.session_state["req-search-error"])
rid = st.selectbox("Requirement", list(by_id), key="req", format_func=lambda i: f"{by_id[i].label()} — {status_of[i]}")
req = by_id[rid]
if req.wording:
    st.markdown(f"**Requirement{': ' + req.title if req.title else ''}.** {req.wording}")
else:
    st.caption(f"Wording {req.wording_status}.")
latest = store.latest(rid)


def run_draft(force: bool) -> None:
    if ctx.assistant is None:
        st.error(ctx.error)
        return
    with st.spinner(f"Drafting {rid} ..."):
        draft = acc.draft_requirement(ctx.assistant, store, req, author=author, force=force)
    ctx.db.audit("accreditation_draft", {"requirement_id": rid, "version": draft.version, "forced": force}, author)
    st.session_state.pop("confirm-rerun", None)
    st.rerun()


if st.button("Draft" if latest is None else "Re-run draft", key="rerun"):
    if latest is not None and latest.origin == "edited":
        st.session_state["confirm-rerun"] = rid
    else:
        run_draft(force=False)
if st.session_state.get("confirm-rerun") == rid and latest is not None:
    st.warning(f"Version {latest.version} is a staff edit by {latest.author}. A new draft goes on top of it; the "
               "edit stays in the version history.")
    if st.button("Yes, draft anew", key="confirm-rerun-btn"):
        run_draft(force=True)

if latest is None:
    st.info("Not drafted yet.")
else:
    st.markdown(f"**Status: {latest.status}** · version {latest.version} ({latest.origin}) by {latest.author}, "
                f"{latest.created}")
    with st.expander("Why this status"):
        st.markdown("\n".join(f"- {r}" for r in latest.reasons))
    if latest.answer:
        ui.show_answer(answer_from_json({**latest.answer, "answer": latest.text}), key=f"acc-{rid}")
    else:
        st.text(latest.text)
    edited = st.text_area("Edit the draft", value=latest.text, height=220, key=f"edit-{rid}-{latest.version}")
    new_status = st.selectbox("Status", list(acc.STATUSES), index=list(acc.STATUSES).index(latest.status),
                              key=f"status-{rid}-{latest.version}")
    if st.button("Save as new version", key="save-edit"):
        try:
            saved = acc.save_edit(store, rid, edited, author=author, status=new_status)
            ctx.db.audit("accreditation_edit", {"requirement_id": rid, "version": saved.version}, author)
            st.rerun()
        except acc.AccreditationError as exc:
            st.error(str(exc))
    with st.expander("Version history"):
        for d in store.history(rid):
            st.markdown(f"**v{d.version}** · {d.created} · {d.origin} by {d.author} · {d.status}")
            st.text(d.text)

# ---------------------------------------------------------------- export
st.subheader("Export the application draft")
cols = st.columns(2)
cols[0].download_button("Application (DOCX)", acc.application_docx(reqs, store, standards),
                        file_name="iasios-application-draft.docx", key="export-docx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
cols[1].download_button("Application (Markdown)", acc.application_markdown(reqs, store, standards),
                        file_name="iasios-application-draft.md", mime="text/markdown", key="export-md",
                        on_click="ignore")
