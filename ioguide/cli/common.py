"""Helpers shared by the `ioguide` command groups: error exit, retrieval filters, the user name."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer


def fail(exc: Exception, code: int = 2) -> NoReturn:
    """Print `Error: <message>` on stderr and exit with `code` (2: bad input or missing index)."""
    typer.echo(f"Error: {exc}", err=True)
    raise typer.Exit(code)


def filters(doc: list[str] | None, topic: list[str] | None, edition: list[str] | None,
            collection: list[str] | None, issuer: list[str] | None = None):
    """Retrieval filters from the repeatable --doc/--topic/--edition/--collection options."""
    from ..retrieve import Filters

    return Filters(doc_ids=tuple(doc or ()), topics=tuple(topic or ()), editions=tuple(edition or ()),
                   collections=tuple(collection or ()), issuers=tuple(issuer or ()))


def user_name() -> str:
    """The login name recorded in the audit trail ("unknown" in containers without one)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
