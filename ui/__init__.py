"""Streamlit rendering helpers shared by app.py and views/. Logic lives in ioguide/."""
