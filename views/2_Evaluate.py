"""Evaluate: run a question set (JSONL or CSV) through the assistant and see metrics, plots and failures."""

from __future__ import annotations

import base64
import json
import tempfile
from pathlib import Path

import streamlit as st

from ioguide import evaluate
from ioguide.service import AskOptions
from ui import components as ui

ctx, user = ui.page("Evaluate", "📊", "evaluate", "Evaluate", need_assistant=True)

st.caption("Format: one question per line (JSONL) or CSV with columns id, question, answer_facts (| separated), "
           "expected_sources (doc_id or file#page, | separated), type (unanswerable to expect abstention), topic.")
with st.sidebar:
    st.download_button("Download clinicians' feedback (CSV)", ctx.db.feedback_csv(), file_name="feedback.csv",
                       mime="text/csv")
upload = st.file_uploader("Question set", type=["jsonl", "csv"])
k = st.slider("k", 1, 15, 5)
if upload and st.button("Run evaluation", type="primary"):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / Path(upload.name).name
        path.write_bytes(upload.getvalue())
        try:
            questions, errors = evaluate.load_question_set(path)
        except Exception as exc:  # noqa: BLE001
            st.error(str(exc))
            st.stop()
    for err in errors:
        st.warning(f"Skipped: {err}")
    bar = st.progress(0.0, text="Running ...")
    options = AskOptions(k=k)
    results = evaluate.run_eval(questions, lambda q: ctx.assistant.ask(q, options=options), k,
                                progress=lambda i, n: bar.progress(i / n, text=f"{i}/{n} questions"))
    summary = evaluate.summarise(results, {"k": k, "set": upload.name})
    summary["set_errors"] = errors
    st.session_state["eval"] = (results, summary)
    ctx.db.audit("evaluate", {"set": upload.name, "n": len(results)}, user=user)

if "eval" in st.session_state:
    results, summary = st.session_state["eval"]
    cols = st.columns(4)
    for i, m in enumerate(evaluate.HEADLINE):
        cols[i % 4].metric(m.replace("_", " "), "-" if summary.get(m) is None else f"{summary[m]:.2f}")
    st.caption(f"{summary['n']} questions; answers {summary['answer_words_p50']:.0f} words median, "
               f"{summary['answer_words_p90']:.0f} at the 90th percentile; latency p50 {summary['latency_ms_p50']} ms, "
               f"p95 {summary['latency_ms_p95']} ms")
    images = evaluate.plots(results, summary)
    c1, c2 = st.columns(2)
    c1.image(base64.b64decode(images["metrics"]))
    c2.image(base64.b64decode(images["latency"]))
    st.image(base64.b64decode(images["topics"]))
    failures = [r for r in results if not r["correct"]]
    st.subheader(f"Failures ({len(failures)})")
    st.dataframe([{"id": r["id"], "question": r["question"], "expected": "abstain" if not r["answerable"]
                   else "; ".join(r["expected_facts"]), "answer": r["answer"], "sources": " | ".join(r["sources"])}
                  for r in failures], hide_index=True, width="stretch")
    st.download_button("Download results.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in results),
                       file_name="results.jsonl")
    st.download_button("Download summary.json", json.dumps(summary, indent=2), file_name="summary.json")
    st.download_button("Download report.html", evaluate.render_report(results, summary), file_name="report.html")
