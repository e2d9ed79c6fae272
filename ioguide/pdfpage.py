"""Render a PDF page as an image (pypdfium2), with the cited passage marked where its text can be found."""

from __future__ import annotations

from pathlib import Path


def render_page(path: str | Path, page_number: int, highlight: str = "", scale: float = 1.6):
    """A PIL image of 1-based page_number; rectangles drawn around the first match of highlight (searched by its
    first words, since PDF text and extracted text differ in line breaks and hyphens). Returns (image, found)."""
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
            words = highlight.split()
            for n in (12, 8, 5, 3):
                probe = " ".join(words[:n])
                if not probe:
                    continue
                searcher = textpage.search(probe, match_case=False, match_whole_word=False)
                match = searcher.get_next()
                if match is None:
                    continue
                start, count = match
                height = page.get_height()
                draw = ImageDraw.Draw(image, "RGBA")
                n_rects = textpage.count_rects(start, count)
                for i in range(n_rects):
                    left, bottom, right, top = textpage.get_rect(i)
                    box = (left * scale, (height - top) * scale, right * scale, (height - bottom) * scale)
                    draw.rectangle(box, fill=(255, 230, 0, 90), outline=(200, 120, 0, 255))
                found = True
                break
        return image, found
    finally:
        pdf.close()
