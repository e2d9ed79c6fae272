"""`ioguide bench scale` and `ioguide audit export|purge`, added to the `ioguide` command by register(app)."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from .config import Settings
from .errors import IOGuideError


def _fail(exc: Exception) -> None:
    typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(2)


def _db_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / "ioguide.sqlite3"  # the app's LocalDB (ui/components.py)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def bench_scale_cmd(
    chunks: int = typer.Option(100_000, "--chunks", min=1000, help="Synthetic chunks to write."),
    batch: int = typer.Option(1000, "--batch", min=1, help="Chunks per ChromaStore.upsert call."),
    sentences: int = typer.Option(3, "--sentences", min=0, help="Sentence vectors per chunk (ingest writes ~3)."),
    repeats: int = typer.Option(100, "--repeats", min=1, help="Queries per latency figure."),
    workdir: Path = typer.Option(Path(".bench-cache") / "scale", "--workdir",
                                 help="Server data and BM25 files (the server's data is deleted afterwards)."),
    keep: bool = typer.Option(False, "--keep", help="Keep the server's data."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ingest rate, dense and full-retriever query p50/p95, and the server's memory at --chunks synthetic chunks,
    against a `chroma run` server started on 127.0.0.1 (or IOGUIDE_CHROMA_URL, in a database of its own)."""
    import signal
    import sys

    from .ops import bench_scale, format_scale

    settings = Settings()
    # A plain `kill` must still stop the `chroma run` server this command started (the finally in bench_scale).
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        result = bench_scale(chunks, workdir, settings.chroma_url, batch=batch, sentences_per_chunk=sentences,
                             repeats=repeats, keep=keep, progress=lambda m: typer.echo(m, err=True))
    except IOGuideError as exc:
        _fail(exc)
    finally:
        signal.signal(signal.SIGTERM, previous)
    typer.echo(json.dumps(result, indent=2) if as_json else format_scale(result))


def audit_export_cmd(
    out: Path = typer.Option(..., "--out", help="CSV file to write (id, created, user, action, detail)."),
    since_days: int | None = typer.Option(None, "--since-days", min=1, help="Only the last N days."),
) -> None:
    """Write the audit trail (logins, questions, uploads, re-indexing, drafts ...) to a CSV file."""
    from .ops import export_audit
    from .storage import LocalDB

    settings = Settings()
    path = _db_path(settings)
    try:
        n = export_audit(path, out, since_days)
    except (IOGuideError, OSError) as exc:
        _fail(exc)
    LocalDB(path).audit("audit_export", {"rows": n, "out": str(out)}, user=_user())
    typer.echo(f"Wrote {n} audit row(s) to {out}.")


def audit_purge_cmd(
    days: int | None = typer.Option(None, "--days", min=1,
                                    help="Keep this many days (default IOGUIDE_AUDIT_RETENTION_DAYS)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Only count what would be deleted."),
) -> None:
    """Delete audit rows older than the retention period. The audit table is append-only (no UPDATE, no DELETE);
    this command is the one way rows leave it, and the purge is itself recorded in the trail."""
    from .ops import purge_audit

    settings = Settings()
    retention = days or settings.audit_retention_days
    try:
        report = purge_audit(_db_path(settings), retention, dry_run=dry_run, user=_user())
    except IOGuideError as exc:
        _fail(exc)
    verb = "Would delete" if dry_run else "Deleted"
    typer.echo(f"{verb} {report.deleted} audit row(s) older than {retention} days (before {report.cutoff}); "
               f"{report.kept} kept" + (f", {report.undated} without a readable date kept" if report.undated else "")
               + ".")


def register(app: typer.Typer) -> None:
    """Add `bench scale` (to the existing bench group) and the `audit` group. Idempotent."""
    names = {g.name: g for g in app.registered_groups}
    if "audit" in names:
        return
    audit_app = typer.Typer(no_args_is_help=True, help="The audit trail: export, retention.")
    audit_app.command("export")(audit_export_cmd)
    audit_app.command("purge")(audit_purge_cmd)
    app.add_typer(audit_app, name="audit")
    bench = names["bench"].typer_instance if "bench" in names else None
    if bench is None:
        bench = typer.Typer(no_args_is_help=True, help="Benchmarks that print figures.")
        app.add_typer(bench, name="bench")
    bench.command("scale")(bench_scale_cmd)
