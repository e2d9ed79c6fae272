"""The one section builder the Markdown, HTML and DOCX loaders share: body lines collect under the current
heading path; a heading closes the running section and sets the path at its depth."""

from __future__ import annotations

from ioguide.types import Section

from .limits import clean_lines


class SectionBuilder:
    """Collects (heading path, lines, source URLs) into Sections; empty sections are never emitted."""

    def __init__(self) -> None:
        self.sections: list[Section] = []
        self.path: list[str] = []
        self.lines: list[str] = []
        self.sources: list[str] = []
        self.started = False  # a section with text or source URLs has been closed

    def add(self, line: str) -> None:
        self.lines.append(line)

    def add_source(self, url: str) -> None:
        self.sources.append(url)

    def heading(self, depth: int, text: str) -> None:
        """Close the running section; the path becomes its first `depth` parts plus this heading."""
        self.flush()
        self.path = self.path[:depth] + [text]

    def reset(self) -> None:
        """Close the running section; the path becomes empty (a document-title heading)."""
        self.flush()
        self.path = []

    def flush(self) -> None:
        text = clean_lines("\n".join(self.lines))
        self.started = self.started or bool(text or self.sources)
        if text.strip():
            self.sections.append(Section(path=tuple(self.path), text=text,
                                         sources=tuple(dict.fromkeys(self.sources))))
        self.lines, self.sources = [], []

    def finish(self) -> list[Section]:
        self.flush()
        return self.sections
