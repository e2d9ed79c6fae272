"""`ioguide audit export|purge`: the audit trail as CSV, and its retention."""

from __future__ import annotations

from pathlib import Path

import typer

from ..config import Settings
from ..errors import IOGuideError
from .common import fail, user_name

audit_app = typer.Typer(no_args_is_help=True, help="The audit trail: export, retention.")


@audit_app.command("export")
def audit_export_cmd(
    out: Path = typer.Option(..., "--out", help="CSV file to write (id, created, user, action, detail)."),
    since_days: int | None = typer.Option(None, "--since-days", min=1, help="Only the last N days."),
) -> None:
    """Write the audit trail (logins, questions, uploads, re-indexing, drafts ...) to a CSV file."""
    from ..storage import LocalDB

    settings = Settings()
    try:
        db = LocalDB(settings.db_path)
        n = db.export_audit(out, since_days)
    except (IOGuideError, OSError) as exc:
        fail(exc)
    db.audit("audit_export", {"rows": n, "out": str(out)}, user=user_name())
    typer.echo(f"Wrote {n} audit row(s) to {out}.")


@audit_app.command("purge")
def audit_purge_cmd(
    days: int | None = typer.Option(None, "--days", min=1,
                                    help="Keep this many days (default IOGUIDE_AUDIT_RETENTION_DAYS)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete audit rows older than the retention period. The audit table is append-only (no UPDATE, no DELETE);
    this command is the one way rows leave it, and the purge is itself recorded in the trail."""
    from ..storage import LocalDB

    settings = Settings()
    retention = days or settings.audit_retention_days
    try:
        report = LocalDB(settings.db_path).purge_audit(retention, dry_run=dry_run, user=user_name())
    except IOGuideError as exc:
        fail(exc)
    verb = "Would delete" if dry_run else "Deleted"
    typer.echo(f"{verb} {report.deleted} audit row(s) older than {retention} days (before {report.cutoff}); "
               f"{report.kept} kept" + (f", {report.undated} without a readable date kept" if report.undated else "")
               + ".")
