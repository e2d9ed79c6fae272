"""The `ioguide` command: ask, eval, calibrate, bench, audit, and the accreditation commands.

One module per command group; this one builds the root Typer app and wires them:
ask.py (ask), evaluation.py (eval, calibrate), bench.py (bench ...), audit.py (audit ...) and
accreditation.py (draft, coverage, assess, action, readiness, casereview)."""

from __future__ import annotations

import sys

import typer

from .accreditation import register as register_accreditation
from .ask import ask, format_answer
from .audit import audit_app
from .bench import bench_app
from .evaluation import calibrate, eval_cmd

__all__ = ["app", "format_answer", "main"]

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="IO Guide: cited answers from interventional oncology guidelines.")
app.add_typer(bench_app, name="bench")
register_accreditation(app)  # draft, coverage, assess, action, readiness, casereview
app.add_typer(audit_app, name="audit")
app.command()(ask)
app.command("eval", context_settings={"allow_extra_args": False})(eval_cmd)
app.command()(calibrate)


def main() -> None:  # console script entry
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
