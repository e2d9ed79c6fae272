"""Hostile and malformed input (issue 9): each file is refused or handled with a clear message, in bounded time and
memory, and a good file in the same batch is still indexed.

The heavy cases run in a child process so that its peak memory (resource.getrusage) is the file's own, not that of
the test session; each prints what it measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import unicodedata
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import ROOT, make_pdf
from typer.testing import CliRunner

from ingest.__main__ import app as ingest_app
from ingest.chunking import chunk_sections
from ingest.loaders import MAX_LINE, load_file
from ioguide.errors import LoadError
from ioguide.text import chunk_embedding_text

# ---------------------------------------------------------------- hand-built PDFs


def raw_pdf(objects: list[bytes]) -> bytes:
    """A syntactically valid PDF from object bodies (object i+1 = objects[i]) with a correct xref table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
PAGE = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>"
FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"
HELLO = _stream(b"BT /F1 12 Tf 72 720 Td (Hello from a small page) Tj ET")


def bomb_pdf(megabytes: int = 300) -> bytes:
    """One page whose FlateDecode content stream (about 300 KB on disk) inflates to `megabytes` MB of text."""
    compressor = zlib.compressobj(9)
    block = b"A" * (1 << 20)
    parts = [compressor.compress(b"BT /F1 12 Tf 72 720 Td (")]
    parts += [compressor.compress(block) for _ in range(megabytes)]
    parts += [compressor.compress(b") Tj ET"), compressor.flush()]
    content = _stream(b"".join(parts), b"/Filter /FlateDecode")
    return raw_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE, content, FONT])


def operator_flood_pdf(megabytes: int = 14) -> bytes:
    """One page whose content inflates to just under the stream limit: drawing operators ('0 0 m'), then text."""
    compressor = zlib.compressobj(9)
    block = b"0 0 m " * ((1 << 20) // 6)
    parts = [compressor.compress(block) for _ in range(megabytes)]
    parts += [compressor.compress(b"BT /F1 12 Tf 72 720 Td (Text after the flood) Tj ET"), compressor.flush()]
    content = _stream(b"".join(parts), b"/Filter /FlateDecode")
    return raw_pdf([CATALOG, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>", PAGE, content, FONT])


def many_pages_pdf(pages: int = 100_000, per_node: int = 1_000) -> bytes:
    """A real page tree of `pages` pages (100 intermediate nodes of 1,000 kids, all the same small page)."""
    nodes = pages // per_node
    kids = b" ".join(b"%d 0 R" % (6 + i) for i in range(nodes))
    leaf = b" ".join([b"3 0 R"] * per_node)
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), PAGE, HELLO, FONT]
    objects += [b"<< /Type /Pages /Parent 2 0 R /Kids [%s] /Count %d >>" % (leaf, per_node)] * nodes
    return raw_pdf(objects)


def tree_bomb_pdf(depth: int = 17) -> bytes:
    """A page tree whose every node lists the next node twice: 2**17 = 131,072 pages from 22 objects, while each
    node claims /Count 1 (so the declared count does not give it away)."""
    objects = [b"<< /Type /Catalog /Pages 6 0 R >>", b"<< /Type /Pages /Kids [] /Count 0 >>", PAGE, HELLO, FONT]
    for level in range(depth):
        child = 7 + level if level < depth - 1 else 3
        objects.append(b"<< /Type /Pages /Kids [%d 0 R %d 0 R] /Count 1 >>" % (child, child))
    return raw_pdf(objects)


# ---------------------------------------------------------------- measuring in a child process

# The loading runs in a process forked from a small interpreter: its ru_maxrss (read with os.wait4, a
# resource.struct_rusage) is then the load's own peak, not one inherited from the big test process.
MEASURE = r"""
import json, os, sys, time
from pathlib import Path
import pypdf
from ingest.loaders import load_file
from ioguide.errors import LoadError
with open("/proc/self/statm") as statm:
    rss_before = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(read)
    start = time.perf_counter()
    try:
        info, sections = load_file(Path(sys.argv[1]))
        outcome = {"loaded": True, "pages": info.pages, "chars": sum(len(s.text) for s in sections)}
    except LoadError as exc:
        outcome = {"loaded": False, "reason": exc.reason}
    outcome["seconds"] = round(time.perf_counter() - start, 2)
    os.write(write, json.dumps(outcome).encode())
    os._exit(0)
os.close(write)
data = b""
while chunk := os.read(read, 1 << 16):
    data += chunk
_, status, usage = os.wait4(pid, 0)
outcome = json.loads(data)
outcome["peak_mb"] = round(usage.ru_maxrss / 1024, 1)
outcome["rss_before_mb"] = round(rss_before, 1)
print(json.dumps(outcome))
"""


def measure(path: Path) -> dict:
    """Load path in a fresh interpreter; return its outcome, wall time, resident memory once the libraries are
    imported, and the process's peak resident memory (ru_maxrss) after loading."""
    done = subprocess.run([sys.executable, "-c", MEASURE, str(path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{path.name}: {result}")
    return result


def _reason(path: Path, **kwargs) -> str:
    with pytest.raises(LoadError) as caught:
        load_file(path, **kwargs)
    return caught.value.reason


# ---------------------------------------------------------------- the cases


def test_decompression_bomb_is_refused_fast_and_small(tmp_path):
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb_pdf(300))
    assert path.stat().st_size < 400_000, "small on disk, 300 MB inflated"
    result = measure(path)
    assert not result["loaded"]
    assert "decompression bomb" in result["reason"] and "16 MB safety limit" in result["reason"]
    assert result["seconds"] < 10
    assert result["peak_mb"] < 200, "the whole process stays far below the 300 MB the stream inflates to"


def test_operator_flood_under_the_size_limit_is_stopped_by_the_work_limit(tmp_path):
    path = tmp_path / "flood.pdf"
    path.write_bytes(operator_flood_pdf(14))
    result = measure(path)
    assert not result["loaded"]
    assert "more than 1,000,000 drawing operations" in result["reason"]
    assert result["seconds"] < 60
    assert result["peak_mb"] < 400


def test_pdf_claiming_100000_pages_is_refused_before_walking_them(tmp_path):
    path = tmp_path / "huge.pdf"
    path.write_bytes(many_pages_pdf(100_000))
    result = measure(path)
    assert not result["loaded"]
    assert result["reason"] == "PDF declares 100,000 pages, over the limit of 2,000 (IOGUIDE_MAX_PDF_PAGES)"
    assert result["seconds"] < 5
    assert result["peak_mb"] < 200


def test_page_tree_bomb_with_a_false_count_is_refused(tmp_path):
    path = tmp_path / "tree.pdf"
    path.write_bytes(tree_bomb_pdf(17))
    result = measure(path)
    assert not result["loaded"]
    assert "page tree is larger than the page limit allows" in result["reason"]
    assert result["seconds"] < 5


def _letters(n: int) -> str:
    word = ""
    while True:
        n, rest = divmod(n, 26)
        word += chr(ord("a") + rest)
        if n == 0:
            return word


def distinct_pages_pdf(pages: int) -> bytes:
    """`pages` pages, each with its own sentence (pages that all say the same are running text, and removed)."""
    kids = b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(pages))
    objects = [CATALOG, b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), FONT]
    for i in range(pages):
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> "
                       b">> /Contents %d 0 R >>" % (5 + 2 * i))
        objects.append(_stream(b"BT /F1 12 Tf 72 720 Td (Entry %s is here.) Tj ET" % _letters(i).encode()))
    return raw_pdf(objects)


def test_a_pdf_at_the_page_limit_still_loads(tmp_path):
    path = tmp_path / "fine.pdf"
    path.write_bytes(distinct_pages_pdf(2_000))
    info, sections = load_file(path, max_pages=2_000)
    assert info.pages == 2_000
    text = sections[0].text
    assert text.startswith("Entry a is here.") and text.endswith(f"Entry {_letters(1999)} is here.")
    assert sections[0].page_breaks[-1] == (text.rindex("Entry"), 2_000)
    assert "over the limit of 1,999" in _reason(path, max_pages=1_999)


def test_oversized_file_is_refused_by_the_configured_limit(tmp_path):
    path = tmp_path / "big.txt"
    path.write_text("ablation " * 250_000)  # 2.25 MB
    started = time.perf_counter()
    reason = _reason(path, max_bytes=1024 * 1024)
    assert reason == "file is 2.2 MB, over the 1 MB limit (IOGUIDE_MAX_FILE_MB)"
    assert time.perf_counter() - started < 1, "refused from its size, before reading it"


def test_non_pdf_with_a_pdf_name_says_what_it_is(tmp_path):
    cases = {"photo.pdf": (b"\xff\xd8\xff\xe0" + bytes(500), "a JPEG image"),
             "letter.pdf": (b"PK\x03\x04" + bytes(100), "a ZIP container"),
             "page.pdf": (b"<!DOCTYPE html><html><body>hi</body></html>", "HTML"),
             "old.pdf": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "an old Microsoft Office file")}
    for name, (data, what) in cases.items():
        (tmp_path / name).write_bytes(data)
        reason = _reason(tmp_path / name)
        assert reason.startswith(f"not a PDF: the file holds {what}"), reason


def test_non_utf8_text_is_refused_with_the_byte_position(tmp_path):
    path = tmp_path / "cp1252.md"
    path.write_bytes(b"# Dosing\n\nGive 5 mg \x96 then reassess.\n")
    assert _reason(path) == ("not UTF-8 text (invalid byte 0x96 at byte position 20, line 3); save it as UTF-8")


def test_zero_width_and_right_to_left_controls_are_removed(tmp_path):
    hidden = "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    path = tmp_path / "spoofed.txt"
    path.write_text(f"Abla{hidden}tion margin \u202e01\u202c mm.\nNo\u00adte: r\u200bisk.", encoding="utf-8")
    _, sections = load_file(path)
    text = sections[0].text
    assert text == "Ablation margin 01 mm.\nNote: risk."
    assert not [ch for ch in text if unicodedata.category(ch) in ("Cf", "Cc") and ch != "\n"]
    html = tmp_path / "spoofed.html"
    html.write_text(f"<h2>Mar{hidden}gin</h2><p>Five\u200b mm \u2067beyond\u2069.</p>", encoding="utf-8")
    _, sections = load_file(html)
    assert [(s.path, s.text) for s in sections] == [(("Margin",), "Five mm beyond.")]


def test_five_megabyte_single_line_is_loaded_and_chunked_in_bounded_time(tmp_path, embedder):
    words = ["ablation", "margin", "tumour", "lesion", "microwave", "hepatic", "5", "cm", "the", "of", "and"]
    line = " ".join(words[(i * 7 + i // 3) % len(words)] for i in range(800_000))  # ~5 MB, no full stop
    path = tmp_path / "one-line.txt"
    path.write_text(line)
    assert path.stat().st_size > 4_500_000
    embedder.count_tokens("warm up")
    started = time.perf_counter()
    info, sections = load_file(path)
    loaded = time.perf_counter() - started
    chunks = chunk_sections(info, sections, embedder.count_tokens_batch, embedder.max_tokens)
    total = time.perf_counter() - started
    print(f"5 MB single line: loaded in {loaded:.1f} s, {len(chunks)} chunks in {total:.1f} s")
    assert max(len(row) for row in sections[0].text.split("\n")) <= MAX_LINE
    assert len(chunks) > 1000
    sizes = embedder.count_tokens_batch([chunk_embedding_text(c.title, c.section, c.text) for c in chunks])
    assert max(sizes) <= embedder.max_tokens
    assert " ".join(c.text for c in chunks).split() == line.split(), "no word lost or changed"
    assert total < 180


def test_a_long_run_without_spaces_is_kept_whole_up_to_a_bound(tmp_path):
    path = tmp_path / "blob.txt"
    path.write_text("Key: " + "QUJD" * 1_000 + " end.\n" + "x" * 100_000)
    _, sections = load_file(path)
    text = sections[0].text
    assert "QUJD" * 1_000 in text.split(), "a 4,000-character token is not cut"
    rows = text.split("\n")
    assert max(len(r) for r in rows) <= 20_000, "a 100,000-character run is cut at 20,000"
    assert "".join(r for r in rows if r.startswith("x")) == "x" * 100_000, "and nothing of it is lost"


def test_sentence_splitting_is_linear_on_a_line_of_lowercase_dots():
    code = "from ioguide.text import sentence_spans; sentence_spans('word. ' * 20_000)"
    try:
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=10, check=True)
    except subprocess.TimeoutExpired:
        pytest.fail("120 KB of 'word. ' took over 10 s to split into sentences")


def test_deeply_nested_html_is_refused_without_recursion_error(tmp_path):
    path = tmp_path / "nested.html"
    path.write_text("<html><body>" + "<div>" * 100_000 + "<p>deep</p>" + "</div>" * 100_000 + "</body></html>")
    started = time.perf_counter()
    reason = _reason(path)
    elapsed = time.perf_counter() - started
    print(f"100,000 nested <div>: {reason} ({elapsed:.2f} s)")
    assert reason.startswith("HTML is nested more than 256 levels deep")
    assert elapsed < 5


def test_many_unclosed_paragraphs_are_read_not_crashed(tmp_path):
    path = tmp_path / "sloppy.html"
    path.write_text("<html><body>" + "".join(f"<p>Item {i} text" for i in range(20_000)) + "</body></html>")
    started = time.perf_counter()
    _, sections = load_file(path)
    assert time.perf_counter() - started < 30
    rows = sections[0].text.split("\n")
    assert rows[0] == "Item 0 text" and rows[-1] == "Item 19999 text" and len(rows) == 20_000


def test_html_with_too_many_tags_is_refused(tmp_path):
    path = tmp_path / "tags.html"
    path.write_text("<html><body>" + "<br>" * 300_000 + "</body></html>")
    assert _reason(path).startswith("HTML has more than 250,000 tags")


def test_yaml_alias_bomb_in_front_matter_is_not_expanded(tmp_path):
    laughs = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for level in "bcdefghi":
        prev = chr(ord(level) - 1)
        laughs.append(f"{level}: &{level} [{', '.join(['*' + prev] * 9)}]")
    path = tmp_path / "laughs.md"
    path.write_text("---\n" + "\n".join(laughs) + "\ntitle: *i\nissuer: *i\n---\n## Body\nReal text.\n")
    started = time.perf_counter()
    info, sections = load_file(path)
    assert time.perf_counter() - started < 5
    assert info.title == "laughs" and info.issuer == "", "a list is not a title: ignored, never str()-expanded"
    assert sections[0].text == "Real text."


def test_docx_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as member:
            block = b" " * (1 << 20)
            for _ in range(300):
                member.write(block)
    assert path.stat().st_size < 2_000_000
    reason = _reason(path)
    assert "DOCX expands to 315 MB" in reason and "zip bomb" in reason, reason


def test_per_file_time_bound(tmp_path):
    pdf = make_pdf(tmp_path / "slow.pdf", [["First page."], ["Second page."], ["Third page."]])
    assert _reason(pdf, max_seconds=0).startswith("reading stopped after 0 s at page 1 of 3 (per-file time limit)")
    html = tmp_path / "slow.html"
    html.write_text("<p>Some text.</p>")
    assert "per-file time limit" in _reason(html, max_seconds=0)


def test_hostile_file_names_are_indexed_safely(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    shell = docs / "a;rm -rf x $(id).md"
    shell.write_text("## Shell\nA file name with shell characters is only a name.\n")
    newline = docs / "fake\nSKIPPED everything.md"
    newline.write_text("## Newline\nA newline in a file name cannot forge a report line.\n")
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(ingest_app, [str(docs), str(docs / "sub" / ".." / "a;rm -rf x $(id).md"),
                                             "--index", str(tmp_path / "index"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert "Indexed 2 file(s)" in result.output
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob("uid=*")), "nothing was executed"
    assert not any(line.startswith("SKIPPED") for line in result.output.splitlines())

    from ioguide.index import open_index

    docs_rows = open_index(tmp_path / "index").store.documents_list()
    ids = sorted(row["doc_id"] for row in docs_rows)
    assert ids == ["a-rm--rf-x-id", "fake-SKIPPED-everything"]
    assert all(set(i) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") for i in ids)
    assert str(shell.resolve()) in {row["source"] for row in docs_rows}, "the '..' path is stored resolved, once"


def test_a_batch_of_hostile_files_still_indexes_the_good_one(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "bomb.pdf").write_bytes(bomb_pdf(100))
    (docs / "huge.pdf").write_bytes(many_pages_pdf(100_000))
    (docs / "tree.pdf").write_bytes(tree_bomb_pdf(17))
    (docs / "big.txt").write_text("ablation " * 400_000)  # 3.6 MB, over IOGUIDE_MAX_FILE_MB=2
    (docs / "photo.pdf").write_bytes(b"\xff\xd8\xff\xe0" + bytes(500))
    (docs / "cp1252.txt").write_bytes(b"caf\xe9")
    (docs / "nested.html").write_text("<div>" * 5_000 + "x")
    (docs / "good.md").write_text("## Margin\nThe ablation margin should be at least 5 mm.\n")
    started = time.perf_counter()
    result = CliRunner().invoke(ingest_app, [str(docs), "--index", str(tmp_path / "index"), "--quiet"],
                                env={"IOGUIDE_MAX_FILE_MB": "2"})
    elapsed = time.perf_counter() - started
    print(result.output, f"({elapsed:.1f} s)")
    assert result.exit_code == 1
    assert "Indexed 1 file(s)" in result.output and "skipped 7" in result.output
    expected = {"bomb.pdf": "decompression bomb", "huge.pdf": "declares 100,000 pages",
                "tree.pdf": "page tree is larger", "big.txt": "over the 2 MB limit (IOGUIDE_MAX_FILE_MB)",
                "photo.pdf": "a JPEG image", "cp1252.txt": "invalid byte 0xe9 at byte position 3",
                "nested.html": "nested more than 256 levels"}
    for name, words in expected.items():
        assert any(f"{name}: " in line and words in line for line in result.output.splitlines()), name
