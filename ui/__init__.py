"""Streamlit rendering helpers shared by app.py and pages/. Logic lives in ioguide/."""
