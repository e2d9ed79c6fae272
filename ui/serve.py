"""Start the app with its heavy objects loading from the first second: `python -m ui.serve [streamlit options]`.

`streamlit run app.py` loads nothing until the first browser session runs the script; then that user waits for
torch, the embedding model, the index, BM25 and the vector cache. This launcher starts the same Streamlit server in
this process and, in a background thread, builds the assistant through the very `st.cache_resource` function the
app calls. A session that arrives early waits on that cache entry's lock instead of loading a second copy; a later
one finds it ready. Any failure (no index yet, a store that is down) is left for the app to show on the page.
Measured with scripts/first_answer.py (browser on the same 2 cores, file watcher off as in .streamlit/config.toml):
first answer 7.55 s median after launch with this launcher, 7.7-7.9 s with plain `streamlit run`.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _warm() -> None:
    import logging

    # Calling the cached function outside a page run is intended here; Streamlit would warn about it once. A filter,
    # not a level: Streamlit resets its loggers' levels while it starts.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "ioguide-warm" not in record.getMessage())
    try:
        from ioguide.config import Settings
        from ui import components

        settings = Settings()
        components.get_assistant(str(settings.index_dir), settings.chroma_url, settings.llm)
    except Exception:  # noqa: BLE001 - the app reports the same error on the page, with its fix
        pass


def main(argv: list[str] | None = None) -> None:
    from ioguide.index import quiet_libraries

    quiet_libraries()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    threading.Thread(target=_warm, name="ioguide-warm", daemon=True).start()
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(ROOT / "app.py"), *(sys.argv[1:] if argv is None else argv)]
    cli.main()


if __name__ == "__main__":
    main()
