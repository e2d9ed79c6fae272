"""Plain text: one section, normalised, long lines broken up."""

from __future__ import annotations

from ioguide.types import Section

from .limits import clean_lines


def load_text(text: str) -> list[Section]:
    return [Section(path=(), text=clean_lines(text))]
