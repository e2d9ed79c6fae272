"""IASIOS accreditation: coverage of the requirements by the centre's documents, drafts, staff edits, the staff
assessment, actions, review and sign-off, evidence re-checks, exports.
Thin: widgets and rendering only; the logic lives in ioguide/accreditation/."""

from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import streamlit as st

from ioguide import accreditation as acc
from ioguide.answer import answer_from_json
from ui import components as ui

ctx, user = ui.page("Accreditation", "🏅", "draft", "IASIOS accreditation")
author = st.session_state.get("user") or user or "anonymous"
role = st.session_state.get("role")


def act(step, *args) -> None:
    """Run a workflow step and reload the page; a step the workflow refuses (AccreditationError, ReviewError among
    them) is shown as an error instead."""
    try:
        step(*args)
    except acc.AccreditationError as exc:
        st.error(str(exc))
        return
    st.rerun()


@st.cache_resource
def get_store(path: str) -> acc.AccreditationStore:
    return acc.AccreditationStore(path)


store = get_store(str(ctx.db.path))
workflow = acc.Workflow(ctx.db.path, ctx.db)
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

if ctx.assistant is not None:
    flags = acc.recheck_flags(store.latest_all(), ctx.assistant.retriever.documents(),
                              acc.store_document_text(ctx.assistant.store), workflow.acknowledged())
    for flag in flags:
        cols = st.columns([5, 1])
        cols[0].warning(flag.message(), icon=":material/sync_problem:")
        if cols[1].button("Mark re-checked", key=f"recheck-{flag.requirement_id}-{flag.doc_id}"):
            workflow.acknowledge(flag.requirement_id, flag.doc_id, flag.current_hash or "removed", author)
            st.rerun()

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
# The option labels must not change when a draft is made: the browser keeps a selection by its label.
rid = st.selectbox("Requirement", list(by_id), key="req", format_func=lambda i: by_id[i].label())
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

# ---------------------------------------------------------------- assessment, actions, review
st.subheader("Assessment")
assessment = workflow.assessments().get(rid)
suggested = acc.SUGGESTED.get(status_of[rid], "")
st.caption(f"Automatic status from the documents: {status_of[rid]}"
           + (f" (suggests '{suggested}')" if suggested else "") + ". The assessment is the staff's decision.")
if assessment is not None:
    st.markdown(f"Current assessment: **{assessment.assessment}** by {assessment.author}, {assessment.created[:10]}"
                + (f" · reason: {assessment.reason}" if assessment.reason else ""))
choices = list(acc.ASSESSMENTS)
default = assessment.assessment if assessment else (suggested or "not met")
cols = st.columns(2)
chosen = cols[0].selectbox("Assessment", choices, index=choices.index(default), key=f"assess-{rid}")
reason = cols[1].text_input("Reason (required for 'not applicable')", key=f"assess-reason-{rid}")
finding = st.text_area("Finding", value=assessment.finding if assessment else "", key=f"assess-finding-{rid}",
                       height=80)
if st.button("Save assessment", key="save-assessment"):
    act(workflow.assess, rid, chosen, author, reason, finding)

st.subheader("Actions")
today = date.today()
for action in workflow.actions(rid):
    late = action.overdue(today)
    cols = st.columns([5, 1])
    line = f"{action.title} · {action.owner} · due {action.due} · {action.state}"
    if late:
        cols[0].error(f"OVERDUE: {line}", icon=":material/alarm:")
    else:
        cols[0].markdown(("~~" + line + "~~") if action.state == "done" else line)
    if action.state == "open" and cols[1].button("Mark done", key=f"done-{action.action_id}"):
        workflow.set_action_state(action.action_id, "done", author)
        st.rerun()
with st.form("add-action", clear_on_submit=True):
    cols = st.columns([3, 2, 1])
    title = cols[0].text_input("New action", key="action-title")
    owner = cols[1].text_input("Owner", key="action-owner")
    due = cols[2].date_input("Due", value=today + timedelta(days=30), key="action-due")
    if st.form_submit_button("Add action"):
        act(workflow.add_action, rid, title, owner, due, author)

st.subheader("Review and sign-off")
cols = st.columns(2)
if latest is not None and cols[0].button(f"Submit draft v{latest.version} for review", key="submit-draft"):
    act(workflow.submit, "draft", rid, latest.version, latest.author, author)
if assessment is not None and cols[1].button("Submit assessment for review", key="submit-assessment"):
    act(workflow.submit, "assessment", rid, assessment.assessment_id, assessment.author, author)
for review in workflow.reviews(rid):
    what = f"{review.kind} {'v' if review.kind == 'draft' else '#'}{review.version} (by {review.author})"
    if review.state != "submitted":
        st.markdown(f"- {what}: {review.describe()}")
        continue
    st.info(f"{what}: {review.describe()}")
    comment = st.text_input("Review comment", key=f"review-comment-{review.review_id}")
    cols = st.columns(2)
    decision = None
    if cols[0].button("Approve", key=f"approve-{review.review_id}"):
        decision = True
    if cols[1].button("Return with comment", key=f"return-{review.review_id}"):
        decision = False
    if decision is not None:
        act(workflow.decide, review.review_id, author, role, decision, comment)

# ---------------------------------------------------------------- export
st.subheader("Export")
approved = {r.requirement_id: r for r in workflow.reviews(kind="draft")
            if r.state == "approved" and workflow.approved_versions().get(r.requirement_id) == r.version}
include_drafts = st.checkbox("Include drafts that are not approved (marked as drafts)", key="export-include-drafts")
gap = acc.gap_analysis(reqs, store, workflow, today)
cols = st.columns(4)
cols[0].download_button("Gap analysis (XLSX)", acc.gap_xlsx(gap, acc.centre_readiness(
    reqs, store, workflow, acc.CaseReviews(ctx.db.path, ctx.db), today).summary_lines()),
    file_name="iasios-gap-analysis.xlsx", key="export-xlsx", on_click="ignore",
    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
cols[1].download_button("Gap analysis (CSV)", acc.gap_csv(gap), file_name="iasios-gap-analysis.csv",
                        mime="text/csv", key="export-csv", on_click="ignore")
cols[2].download_button("Application, approved answers (DOCX)",
                        acc.application_docx(reqs, store, standards, approved=approved,
                                             include_drafts=include_drafts),
                        file_name="iasios-application.docx", key="export-approved-docx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
cols[3].download_button("Application, all drafts (DOCX)", acc.application_docx(reqs, store, standards),
                        file_name="iasios-application-draft.docx", key="export-docx", on_click="ignore",
                        mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")
st.download_button("Application, all drafts (Markdown)", acc.application_markdown(reqs, store, standards),
                   file_name="iasios-application-draft.md", mime="text/markdown", key="export-md",
                   on_click="ignore")
