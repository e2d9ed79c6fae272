"""`python -m ingest [PATH ...] [--index DIR] [--rebuild] [--collection guidelines|centre]`, or
`python -m ingest --explain FILE ...` to see how files are read without indexing them."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import typer

from ioguide.config import Settings
from ioguide.errors import IOGuideError

app = typer.Typer(add_completion=False, help="Index files and folders into IO Guide.")


def _wipe(index_dir: Path, settings: Settings) -> None:
    """Drop the collections (works for a server and for an embedded index); a damaged embedded index that cannot
    be opened is deleted from disk instead."""
    from ioguide.index import bm25_dir_for
    from ioguide.store import drop_index, open_client
    from ioguide.vectors import vectors_dir_for

    try:
        drop_index(open_client(index_dir, settings.chroma_url))
    except Exception:  # noqa: BLE001 - damaged index: remove it from disk
        if settings.chroma_url:
            raise
        shutil.rmtree(index_dir, ignore_errors=True)
    bm25_dir = bm25_dir_for(index_dir, settings.chroma_url)
    shutil.rmtree(bm25_dir, ignore_errors=True)
    shutil.rmtree(vectors_dir_for(bm25_dir), ignore_errors=True)


def _explain(paths: list[Path], settings: Settings) -> None:
    from ingest.explain import explain_file, format_explanation

    if not paths:
        typer.echo("--explain needs one or more files.", err=True)
        raise typer.Exit(2)
    failed = 0
    for n, path in enumerate(paths):
        if n:
            typer.echo("")
        try:
            typer.echo(format_explanation(explain_file(path, max_bytes=int(settings.max_file_mb * 1024 * 1024),
                                                       max_pages=settings.max_pdf_pages)))
        except IOGuideError as exc:
            typer.echo(f"Error: {exc}", err=True)
            failed += 1
    raise typer.Exit(1 if failed else 0)


@app.command()
def main(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: the bundled corpus/)."),
    index: Path | None = typer.Option(None, "--index", help="Index folder (default IOGUIDE_INDEX_DIR)."),
    rebuild: bool = typer.Option(False, "--rebuild", help="Delete the index and build it again."),
    collection: str = typer.Option("guidelines", "--collection", help="guidelines (default) or centre."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    explain: bool = typer.Option(False, "--explain", help="Show how each FILE is read (title and where it came "
                                 "from, sections, per-page text quality, references and page furniture marked); "
                                 "index nothing."),
) -> None:
    settings = Settings()
    if explain:
        _explain(paths or [], settings)
    if collection not in ("guidelines", "centre"):
        typer.echo(f"--collection must be 'guidelines' or 'centre' (got {collection!r}).", err=True)
        raise typer.Exit(2)
    index_dir = index or settings.index_dir
    paths = list(paths or [settings.corpus_dir])
    from ingest.index import sync
    from ioguide.index import open_index

    try:
        if rebuild:
            _wipe(index_dir, settings)
        handle = open_index(index_dir, settings.chroma_url, settings.embedder, settings.embedder_path, create=True)
        bar = None
        if not quiet:
            from tqdm import tqdm

            bar = tqdm(total=0, unit="file", desc="Indexing", file=sys.stderr, disable=quiet)

        def progress(n: int, total: int, name: str) -> None:
            if bar is not None:
                bar.total = total
                bar.n = n
                bar.set_postfix_str(Path(name).name[-40:])
                bar.refresh()

        report = sync(paths, handle.store, handle.embedder, handle.bm25_dir, collection=collection,
                      max_bytes=int(settings.max_file_mb * 1024 * 1024), max_pages=settings.max_pdf_pages,
                      max_seconds=settings.max_load_seconds, progress=progress,
                      exact_max_vectors=settings.exact_search_max_vectors)
        if bar is not None:
            bar.close()
    except IOGuideError as exc:
        typer.echo(f"Error: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(report.summary())
    typer.echo(f"Index: {settings.chroma_url or index_dir} now holds {handle.store.count()} chunks.")
    raise typer.Exit(1 if report.skipped else 0)


if __name__ == "__main__":
    app()
