"""The app's navigation: a human title and an icon for every page file in views/ (Ask is the default page).

The page files live in views/, not pages/: Streamlit lists a folder named pages/ on its own (with an "app" entry
for the entry script) before app.py's st.navigation takes over, which showed after an OIDC sign-in redirect."""

from __future__ import annotations

from pathlib import Path

PAGES_DIR = Path(__file__).resolve().parent.parent / "views"
DEFAULT_PAGE = "0_Ask.py"
# file -> (title in the navigation, icon). A page file not listed here still appears, titled from its file name.
TITLES = {
    "0_Ask.py": ("Ask", ":material/chat:"),
    "1_Library.py": ("Library", ":material/library_books:"),
    "2_Evaluate.py": ("Evaluate", ":material/analytics:"),
    "3_Accreditation.py": ("Accreditation", ":material/verified:"),
    "4_Readiness.py": ("Readiness", ":material/checklist:"),
    "5_Case_review.py": ("Case review", ":material/fact_check:"),
}


def page_title(file_name: str) -> tuple[str, str]:
    """The navigation title and icon of a page file ("4_Case_review.py" -> "Case review")."""
    if file_name in TITLES:
        return TITLES[file_name]
    stem = Path(file_name).stem
    prefix, _, rest = stem.partition("_")
    return (rest if prefix.isdigit() and rest else stem).replace("_", " "), ":material/description:"


def page_files() -> list[Path]:
    """The page files in navigation order."""
    return sorted(PAGES_DIR.glob("*.py"))
