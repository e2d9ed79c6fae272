"""Render a PDF page as an image (pypdfium2), with the cited passage marked where its text can be found."""

from __future__ import annotations

from pathlib import Path


def render_page(path: str | Path, page_number: int, highlight: str = "", scale: float = 1.6):
    """A PIL image of 1-based page_number; rectangles drawn around the first match of highlight. Returns
    (image, found)."""
    import pypdfium2 as pdfium
    from PIL import ImageDraw

    pdf = pdfium.PdfDocument(str(path))
    try:
        if not 1 <= page_number <= len(pdf):
            raise ValueError(f"page {page_number} is outside 1..{len(pdf)}")
        page = pdf[page_number - 1]
        image = page.render(scale=scale).to_pil().convert("RGB")
        found = False
        if highlight.strip():
            textpage = page.get_textpage()
            span = _find_span(textpage, highlight.split())
            if span is not None:
                start, count = span
                height = page.get_height()
                draw = ImageDraw.Draw(image, "RGBA")
                for i in range(textpage.count_rects(start, count)):
                    left, bottom, right, top = textpage.get_rect(i)
                    box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
                    draw.rectangle(box, fill=(255, 230, 0, 90), outline=(200, 120, 0, 255))
                found = True
        return image, found
    finally:
        pdf.close()


def _first(textpage, probe: str, after: int = 0) -> tuple[int, int] | None:
    searcher = textpage.search(probe, match_case=False, match_whole_word=False, index=after)
    return searcher.get_next()


def _find_span(textpage, words: list[str]) -> tuple[int, int] | None:
    """(start, count) of the passage on the page's text. PDF text and extracted text differ in line breaks and
    hyphens, so the passage is found by its first words, and its end by its last words after them; when the end
    is not found, only the first words are marked."""
    for n in (12, 8, 5, 3):
        probe = " ".join(words[:n])
        head = _first(textpage, probe) if probe else None
        if head is None:
            continue
        start, count = head
        length = len(" ".join(words))
        for m in (6, 4, 3, 2):
            if len(words) <= n or m > len(words) - n:
                continue
            tail = _first(textpage, " ".join(words[-m:]), after=start + count)
            if tail is not None and tail[0] + tail[1] - start <= 1.5 * length + 20:
                return start, tail[0] + tail[1] - start
        return start, count
    return None
