"""Ask: the clinician's chat, the default page of app.py's navigation.

Thin: widgets, session state and rendering; logic lives in ioguide/."""

from __future__ import annotations

import streamlit as st

from ioguide.export import conversation_docx, conversation_markdown
from ioguide.service import AskOptions
from ui import components as ui

ctx, user = ui.page("Ask", "💬", "ask", "IO Guide", load=False)
# The chat box is drawn before the model and index load (first run after a launch), so the page is usable at once;
# a question typed meanwhile is answered as soon as they are ready.
typed = st.chat_input(ui.CHAT_PLACEHOLDER)
ui.load_assistant(ctx)
ui.stop_without_assistant(ctx)
filters, mode, k = ui.sidebar(ctx)

STARTERS = [
    "How many therapeutic IO procedures a year does IASIOS require?",
    "What are the grades of the 2017 CIRSE classification of complications?",
    "What is the difference between core and extended requirements?",
    "What are the contraindications to TACE?",
]

# A conversation id in the URL makes the conversation survive a page reload.
conversation_id = st.query_params.get("c")
if not conversation_id:
    conversation_id = ctx.db.new_conversation()
    st.query_params["c"] = conversation_id
turns = ui.answers_of(ctx.db.turns(conversation_id))

with st.sidebar:
    if st.button("New conversation", icon=":material/add:"):
        st.query_params["c"] = ctx.db.new_conversation()
        st.rerun()
    if turns:
        st.download_button("Export conversation (Markdown)", conversation_markdown(turns),
                           file_name=f"ioguide-{conversation_id}.md", mime="text/markdown")
        st.download_button("Export conversation (DOCX)", conversation_docx(turns),
                           file_name=f"ioguide-{conversation_id}.docx",
                           mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document")

for i, (question, answer) in enumerate(turns):
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        ui.show_answer(answer, key=f"t{i}")
        cols = st.columns([1, 3, 1])
        with cols[0]:
            rating = st.feedback("thumbs", key=f"fb-{conversation_id}-{i}")
        with cols[1]:
            comment = st.text_input("Comment (optional)", key=f"fbc-{conversation_id}-{i}",
                                    label_visibility="collapsed", placeholder="Optional comment on this answer")
        with cols[2]:
            if st.button("Send feedback", key=f"fbs-{conversation_id}-{i}", disabled=rating is None):
                ctx.db.add_feedback(1 if rating == 1 else -1, comment, question, ui.to_json(answer),
                                    {"mode": mode, "k": k, "filters": repr(filters)}, user=user)
                st.toast("Feedback saved. Thank you.")
        st.download_button("Export this answer (Markdown)", conversation_markdown([(question, answer)]),
                           file_name=f"ioguide-answer-{i + 1}.md", mime="text/markdown", key=f"md-{i}")

pending = None
if not turns:
    st.markdown("**Try one of these:**")
    cols = st.columns(2)
    for j, starter in enumerate(STARTERS):
        if cols[j % 2].button(starter, key=f"starter-{j}"):
            pending = starter

question = typed or pending
if question:
    if not question.strip():
        st.warning("Please type a question.")
        st.stop()
    with st.chat_message("user"):
        st.text(question)
    with st.chat_message("assistant"):
        box = st.empty()
        tokens: list[str] = []

        def on_token(token: str) -> None:
            tokens.append(token)
            box.caption("Draft from the LLM, being verified against the passages: " + "".join(tokens) + " ▌")

        with st.spinner("Searching the guidelines ..."):
            try:
                answer = ctx.assistant.ask(question, history=[q for q, _ in turns],
                                           options=AskOptions(k=k, filters=filters, mode=mode), on_token=on_token)
            except Exception as exc:  # noqa: BLE001 - the chat must survive a store outage
                st.error(f"Could not answer: {exc}")
                st.stop()
        box.empty()
    payload = ui.to_json(answer)
    ctx.db.add_turn(conversation_id, question, payload)
    ctx.db.audit("ask", {"question": question, "grounded": payload["grounded"],
                         "citations": [(c["doc_id"], c["page"]) for c in payload["citations"]]}, user=user)
    st.rerun()
