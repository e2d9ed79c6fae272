"""The internal case review: upload a pseudonymous case list, draw cases reproducibly (seed stored), record the
centre's checklist per case, see rates and failing cases. Thin: the logic lives in ioguide/accreditation/."""

from __future__ import annotations

import streamlit as st

from ioguide import accreditation as acc
from ioguide.accreditation.casereview import RESULTS, format_summary
from ui import components as ui

ctx, user = ui.page("Case review", "🗂️", "draft", "Internal case review", load=False)
author = st.session_state.get("user") or user or "anonymous"
reviews = acc.CaseReviews(ctx.db.path, ctx.db)

st.caption("IASIOS asks an Accredited Centre to review 30 randomly selected patients. Upload the case list as CSV "
           "with a pseudonymous case id, the procedure date, the procedure type and the operator only: lists with "
           "names, dates of birth or hospital numbers are refused. Only the drawn cases are kept, with the list's "
           "checksum and the seed, so the draw can be repeated for an auditor.")
with st.form("draw"):
    upload = st.file_uploader("Case list (CSV)", type=["csv"], key="cases-file")
    cols = st.columns(3)
    n = cols[0].number_input("Cases to draw", min_value=1, max_value=500, value=30, key="cr-n")
    seed = cols[1].text_input("Seed (kept with the draw)", key="cr-seed")
    stratify = cols[2].checkbox("Stratify by procedure type", key="cr-stratify")
    checklist = st.text_area("Checklist (one item per line)", value="\n".join(acc.DEFAULT_CHECKLIST),
                             key="cr-checklist")
    if st.form_submit_button("Draw cases"):
        try:
            if upload is None:
                raise acc.CaseListError("Choose the case list (CSV) first.")
            try:
                text = upload.getvalue().decode("utf-8-sig")
            except UnicodeDecodeError:
                raise acc.CaseListError(f"{upload.name}: not UTF-8 text; save it as UTF-8 CSV.") from None
            case_list = acc.parse_case_list(text, upload.name)
            drawn = reviews.draw(case_list, int(n), seed, author, stratify, tuple(checklist.splitlines()))
            st.success(f"Drew {len(drawn.cases)} of {drawn.list_cases} cases (review {drawn.review_id}).")
        except acc.CaseListError as exc:
            st.error(str(exc).replace("\n", "  \n"))

review = reviews.latest()
if review is None:
    st.info("No case review yet.")
    st.stop()

st.subheader(f"Review {review.review_id}: {len(review.cases)} cases, seed {review.seed!r}"
             + (", stratified by procedure type" if review.stratified else ""))
results = reviews.results(review.review_id)
st.dataframe([{"Case": c.case_id, "Date": c.date, "Procedure": c.procedure, "Operator": c.operator,
               **{item: results.get((c.case_id, item), "") for item in review.checklist}} for c in review.cases],
             hide_index=True, width="stretch", key="cases-table")

done = {c.case_id for c in review.cases if all((c.case_id, i) in results for i in review.checklist)}
case_ids = [c.case_id for c in review.cases]
pending = [cid for cid in case_ids if cid not in done]
# Plain labels: the browser keeps a selection by its label, so a label must not change when a case is recorded.
case_id = st.selectbox("Case", case_ids, index=case_ids.index(pending[0]) if pending else 0, key="cr-case")
st.caption(f"{len(done)} of {len(case_ids)} cases recorded" + (f"; next not recorded: {pending[0]}" if pending
                                                                 else "."))


def save_case(case_id: str) -> None:
    """Record the checklist of case_id, then move the case box on to the next case not yet recorded."""
    for n, item in enumerate(review.checklist):
        reviews.record(review.review_id, case_id, item, st.session_state[f"cr-{case_id}-{n}"], author)
    left = [cid for cid in pending if cid != case_id]
    if left:
        st.session_state["cr-case"] = left[0]


with st.form("record"):
    for n, item in enumerate(review.checklist):
        st.radio(item, RESULTS, horizontal=True, key=f"cr-{case_id}-{n}",
                 index=RESULTS.index(results.get((case_id, item), "yes")))
    st.form_submit_button("Save case", on_click=save_case, args=(case_id,))

st.subheader("Summary")
items, complete = reviews.summary(review.review_id)
st.markdown("  \n".join(format_summary(review, items, complete)))
