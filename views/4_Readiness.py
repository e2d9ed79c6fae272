"""Readiness for Accredited Centre: core items met, what is missing, the internal case review, overdue actions,
evidence to re-check, reviews waiting, and per-standard progress. Thin: the logic lives in ioguide/accreditation/."""

from __future__ import annotations

from datetime import date

import altair as alt
import streamlit as st

from ioguide import accreditation as acc
from ui import components as ui

ctx, user = ui.page("Readiness", "🎯", "draft", "Readiness for Accredited Centre")

store = acc.AccreditationStore(ctx.db.path)
workflow = acc.Workflow(ctx.db.path, ctx.db)
reqs = acc.requirement_list(acc.load_standards(), store)
flags = []
if ctx.assistant is not None:
    flags = acc.recheck_flags(store.latest_all(), ctx.assistant.retriever.documents(),
                              acc.store_document_text(ctx.assistant.store), workflow.acknowledged())
ready = acc.centre_readiness(reqs, store, workflow, acc.CaseReviews(ctx.db.path, ctx.db), date.today(), flags)

cols = st.columns(4)
cols[0].metric("Core requirements met", f"{ready.core_met} of {ready.core_total}")
cols[1].metric("Overdue actions", len(ready.overdue))
cols[2].metric("Evidence to re-check", len(ready.rechecks))
cols[3].metric("Reviews waiting", len(workflow.pending()))
if ready.ready:
    st.success("Every core requirement is met and the internal case review is complete.")

st.subheader("Missing for Accredited Centre")
if ready.case_review:
    st.warning(f"Internal case review of 30 randomly selected patients: {ready.case_review}")
if ready.missing:
    st.dataframe([{"Requirement": m.requirement_id, "Assessment": m.assessment, "Automatic status": m.automatic,
                   "Suggested": m.suggestion, "Open actions": m.open_actions} for m in ready.missing],
                 hide_index=True, width="stretch", key="missing-table")
else:
    st.success("No core requirement is missing.")

st.subheader("Overdue actions")
if ready.overdue:
    st.dataframe([{"Requirement": a.requirement_id, "Action": a.title, "Owner": a.owner, "Due": a.due}
                  for a in ready.overdue], hide_index=True, width="stretch", key="overdue-table")
else:
    st.caption("None.")
for flag in ready.rechecks:
    st.warning(flag.message(), icon=":material/sync_problem:")

st.subheader("Progress per standard")
colours = {"met": "#2f855a", "not applicable": "#718096", "partially met": "#d69e2e", "not met": "#c53030",
           "not assessed": "#cbd5e0"}
chart = alt.Chart(alt.Data(values=ready.chart_rows())).mark_bar().encode(
    x=alt.X("standard:N", sort=[f"S{p.standard}" for p in ready.per_standard], title="Standard"),
    y=alt.Y("count:Q", title="Requirements"),
    color=alt.Color("assessment:N", scale=alt.Scale(domain=list(colours), range=list(colours.values())),
                    title="Assessment"),
    order=alt.Order("assessment:N"), tooltip=["standard:N", "assessment:N", "count:Q"])
st.altair_chart(chart, width="stretch")
st.dataframe([{"Standard": f"S{p.standard}", "Section": p.section_title, "Done": f"{p.done} of {p.total}",
               **{k: v for k, v in p.counts.items()}} for p in ready.per_standard], hide_index=True,
             width="stretch", key="progress-table")
