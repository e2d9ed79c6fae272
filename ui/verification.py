"""How the app shows what verification removed from an LLM answer: never silently dropped."""

from __future__ import annotations

import streamlit as st


def removed_summary(removed: list[dict]) -> str:
    """"1 sentence removed: states 21 days, not in passage 2" (reasons of several sentences joined by "; ")."""
    if not removed:
        return ""
    n = len(removed)
    reasons = "; ".join(dict.fromkeys(r["reason"] for r in removed))
    return f"{n} sentence{'s' if n != 1 else ''} removed: {reasons}"


def show_removed(answer: dict) -> None:
    """A warning naming each removed sentence's reason, and the sentences themselves in an expander (as text,
    never as HTML or Markdown)."""
    removed = answer.get("removed") or []
    if not removed:
        return
    st.warning(removed_summary(removed))
    with st.expander("Removed sentences (not supported by the cited passages)", expanded=False):
        for r in removed:
            st.text(f"{r['sentence']}\n  -> {r['reason']}")
