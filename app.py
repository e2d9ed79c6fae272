"""IO Guide's entry point: the navigation. Every page has a human title and icon; the chat (Ask) is the default.

`streamlit run app.py` and `python -m ui.serve` both start here; the pages live in views/
(see ui/navigation.py for why not pages/).
"""

from __future__ import annotations

import streamlit as st

from ui.navigation import DEFAULT_PAGE, page_files, page_title

st.set_page_config(page_title="IO Guide", page_icon="📘", layout="wide")
pages = []
for path in page_files():
    title, icon = page_title(path.name)
    pages.append(st.Page(str(path), title=title, icon=icon, default=path.name == DEFAULT_PAGE))
st.navigation(pages).run()
