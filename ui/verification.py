"""How the app shows what verification removed from an LLM answer: never silently dropped."""

from __future__ import annotations

import streamlit as st

from ioguide.types import Answer


def removed_summary(removed: tuple[tuple[str, str], ...]) -> str:
    """"1 sentence removed: states 21 days, not in passage 2" (the reasons of several sentences joined by "; ")."""
    if not removed:
        return ""
    n = len(removed)
    reasons = "; ".join(dict.fromkeys(reason for _sentence, reason in removed))
    return f"{n} sentence{'s' if n != 1 else ''} removed: {reasons}"


def show_removed(answer: Answer) -> None:
    """A warning naming each removed sentence's reason, and the sentences themselves in an expander (as plain
    text, never as HTML or Markdown: they are the LLM's words)."""
    if not answer.removed:
        return
    st.warning(removed_summary(answer.removed))
    with st.expander("Removed sentences (not supported by the cited passages)", expanded=False):
        for sentence, reason in answer.removed:
            st.text(f"{sentence}\n  -> {reason}")
