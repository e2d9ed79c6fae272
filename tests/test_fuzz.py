"""Property tests: whatever bytes arrive, the loaders either load clean text or raise LoadError (never another
exception, never a hang), and a question set keeps its valid lines and reports each malformed one by line number.

Examples are few (150 per property) so the file runs in well under a minute; `deadline` fails any example that
takes over 10 s.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import unicodedata
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import make_pdf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.loaders import MAX_WORD, SUPPORTED, load_file
from ioguide.errors import LoadError, QuestionSetError
from ioguide.evaluate import load_question_set

FUZZ = settings(max_examples=150, deadline=timedelta(seconds=10), database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
_counter = itertools.count()

# Characters str.splitlines() splits on. Line-number properties keep them out of a line's text; what happens when
# one is inside a JSON string is pinned by a test below.
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
one_line = st.text(st.characters(exclude_characters=LINE_BREAKS, exclude_categories=("Cs",)), max_size=60)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _write(folder: Path, suffix: str, data: bytes | str) -> Path:
    path = folder / f"f{next(_counter)}{suffix}"
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(data)
    return path


def _load_or_refuse(path: Path):
    """Load path; a LoadError is a fine outcome (returns None), any other exception fails the property."""
    try:
        info, sections = load_file(path)
    except LoadError as exc:
        assert exc.reason and exc.path == str(path)
        return None
    assert sections and all(s.text.strip() for s in sections), "loaded means some text"
    for section in sections:
        bad = {ch for ch in section.text if unicodedata.category(ch)[0] == "C" and ch not in "\n\t"}
        assert not bad, f"control or invisible characters left in the text: {bad!r}"
        assert max(len(line) for line in section.text.split("\n")) <= MAX_WORD
        for offset, page in section.page_breaks:
            assert 0 <= offset <= len(section.text) and page >= 1
    return info, sections


# ---------------------------------------------------------------- loaders


@FUZZ
@given(data=st.binary(max_size=4096), suffix=st.sampled_from(sorted(SUPPORTED)))
def test_random_bytes_load_or_give_a_load_error(workdir, data, suffix):
    _load_or_refuse(_write(workdir, suffix, data))


@FUZZ
@given(body=st.binary(max_size=2048), ending=st.sampled_from([b"", b"\n%%EOF\n"]))
def test_random_bytes_after_a_pdf_header(workdir, body, ending):
    _load_or_refuse(_write(workdir, ".pdf", b"%PDF-1.7\n" + body + ending))


@pytest.fixture(scope="module")
def real_files(tmp_path_factory) -> dict[str, bytes]:
    import docx

    folder = tmp_path_factory.mktemp("real")
    pdf = make_pdf(folder / "g.pdf", [["Ablation of a 3 cm tumour needs a 5 mm margin."], ["Follow-up CT at 1 month."]],
                   header="Running header", footer="Page {n}", title="Guideline")
    document = docx.Document()
    document.add_heading("Margins", level=1)
    document.add_paragraph("A 5 mm margin is the goal.")
    document.save(str(folder / "g.docx"))
    return {".pdf": pdf.read_bytes(), ".docx": (folder / "g.docx").read_bytes()}


@FUZZ
@given(suffix=st.sampled_from([".pdf", ".docx"]), edits=st.lists(
    st.tuples(st.sampled_from(["flip", "cut", "insert"]), st.floats(0, 1), st.binary(min_size=1, max_size=64)),
    min_size=1, max_size=6))
def test_damaged_real_files_load_or_give_a_load_error(workdir, real_files, suffix, edits):
    data = bytearray(real_files[suffix])
    for kind, where, junk in edits:
        at = int(where * (len(data) - 1))
        if kind == "flip":
            data[at:at + len(junk)] = junk
        elif kind == "cut":
            del data[at:at + 64 * len(junk)]
        else:
            data[at:at] = junk
    _load_or_refuse(_write(workdir, suffix, bytes(data)))


markdown_line = st.one_of(
    one_line,
    st.builds(lambda level, text: "#" * level + " " + text, st.integers(1, 7), one_line),
    st.sampled_from(["---", "Sources:", "**Sources:**", "- https://example.org/a", "title: x", "topics: [a, b",
                     "key: &a [*a]", "date: 2014-13-45", "- [link](http://x)", "![img](data:image/png;base64,AAA)",
                     "**bold *both* end**", "`code", "[[[[", "*a *a *a", "\u202eevil\u202c", "\ufeff", "\x00"]),
)


@FUZZ
@given(lines=st.lists(markdown_line, max_size=30), front=st.booleans())
def test_random_markdown_loads_or_gives_a_load_error(workdir, lines, front):
    text = ("---\n" if front else "") + "\n".join(lines)
    loaded = _load_or_refuse(_write(workdir, ".md", text))
    if loaded:
        for section in loaded[1]:
            assert all(isinstance(part, str) for part in section.path)


TAGS = ["p", "div", "h1", "h2", "h3", "h4", "li", "ul", "td", "tr", "table", "span", "b", "pre", "blockquote", "br",
        "title", "head", "body", "noscript", "svg"]


def html_tree(text, tags):
    return st.recursive(text, lambda children: st.builds(
        lambda tag, kids, closed: f"<{tag}>" + "".join(kids) + (f"</{tag.split()[0]}>" if closed else ""),
        st.sampled_from(tags), st.lists(children, max_size=4), st.booleans()), max_leaves=40)


SCRIPT_AND_STYLE = "<script>var SCRIPTMARK = 1;</script><style>.STYLEMARK{}</style>"


@FUZZ
@given(body=html_tree(st.text(st.characters(exclude_categories=("Cs",)), max_size=30), TAGS + ["a href='x"]),
       junk=st.sampled_from(["", "<!--", "<![CDATA[", "<!doctype", "</", "<<<>>>", "&#xD800;", "<a b='"]))
def test_random_html_loads_or_gives_a_load_error(workdir, body, junk):
    _load_or_refuse(_write(workdir, ".html", f"<html><body>{body}{junk}{SCRIPT_AND_STYLE}</body></html>"))


@FUZZ
@given(body=html_tree(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="<>&"), max_size=30),
                      TAGS), unclosed_comment=st.booleans())
def test_scripts_and_styles_never_show_in_the_text(workdir, body, unclosed_comment):
    # Unclosed tags of any kind, but no text that is itself markup. A comment left open hides the rest, as in a
    # browser (html.parser alone would show it as text).
    tail = "<!-- " + SCRIPT_AND_STYLE if unclosed_comment else SCRIPT_AND_STYLE
    loaded = _load_or_refuse(_write(workdir, ".html", f"<html><body>{body}{SCRIPT_AND_STYLE}{body}{tail}"))
    if loaded:
        text = "\n".join(s.text for s in loaded[1])
        assert "SCRIPTMARK" not in text and "STYLEMARK" not in text


# ---------------------------------------------------------------- question sets

question_text = one_line.filter(lambda s: s.strip())


def _valid(qid: str):
    return st.builds(lambda q, facts, page: json.dumps({"id": qid, "question": q, "answer_facts": facts,
                                                        "expected_sources": [{"file": "g.pdf", "page": page}]}),
                     question_text, st.lists(one_line, max_size=3),
                     st.one_of(st.integers(1, 500), st.integers(1, 500).map(str)))


malformed_jsonl = st.one_of(
    one_line.map(lambda s: "{" + s.replace("}", "")),  # never valid JSON
    st.sampled_from(["[]", "42", '"just a string"', "null", "true"]),
    st.sampled_from(['{"question": ""}', '{"question": "   "}', '{"id": "x"}', '{"question": 7}']),
    question_text.map(lambda q: json.dumps({"question": q, "answer_facts": {"a": 1}})),
    question_text.map(lambda q: json.dumps({"question": q, "expected_sources": [{"page": 1}]})),
    st.builds(lambda q, p: json.dumps({"question": q, "expected_sources": [{"file": "g.pdf", "page": "p" + p}]}),
              question_text, one_line),
    st.builds(lambda q, p: json.dumps({"question": q, "expected_sources": "g.pdf#x" + p}), question_text,
              one_line.filter(lambda s: "#" not in s and "|" not in s)),
)


@FUZZ
@given(kinds=st.lists(st.sampled_from(["valid", "malformed", "blank"]), max_size=25), data=st.data())
def test_jsonl_question_sets_keep_valid_lines_and_report_the_rest_by_number(workdir, kinds, data):
    lines, kept, bad = [], [], []
    for n, kind in enumerate(kinds, start=1):
        if kind == "valid":
            lines.append(data.draw(_valid(f"q{n}")))
            kept.append(f"q{n}")
        elif kind == "malformed":
            lines.append(data.draw(malformed_jsonl))
            bad.append(n)
        else:
            lines.append(data.draw(st.sampled_from(["", "   ", "\t"])))
    path = _write(workdir, ".jsonl", "\n".join(lines) + "\n")
    questions, errors = load_question_set(path)
    assert [q.id for q in questions] == kept
    assert len(errors) == len(bad)
    for n, error in zip(bad, errors, strict=True):
        assert error.startswith(f"{path.name} line {n}: "), error


@FUZZ
@given(rows=st.lists(st.tuples(st.booleans(), question_text, st.lists(one_line.filter(lambda s: "|" not in s),
                                                                       max_size=2)), max_size=20))
def test_csv_question_sets_keep_valid_rows_and_report_the_rest_by_line(workdir, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "question", "answer_facts", "expected_sources"])
    kept, bad = [], []
    for n, (valid, question, facts) in enumerate(rows, start=2):
        if valid:
            writer.writerow([f"q{n}", question, "|".join(facts), "g.pdf#3"])
            kept.append(f"q{n}")
        else:
            writer.writerow([f"q{n}", question, "|".join(facts), "g.pdf#page-three"])
            bad.append(n)
    path = _write(workdir, ".csv", buffer.getvalue())
    questions, errors = load_question_set(path)
    assert [q.id for q in questions] == kept
    assert [e.split(":")[0] for e in errors] == [f"{path.name} line {n}" for n in bad]


@FUZZ
@given(data=st.binary(max_size=2048), suffix=st.sampled_from([".jsonl", ".csv"]))
def test_random_question_set_bytes_never_raise_anything_but_question_set_error(workdir, data, suffix):
    path = _write(workdir, suffix, data)
    try:
        questions, errors = load_question_set(path)
    except QuestionSetError as exc:
        assert str(path) in str(exc)
        return
    assert all(error.startswith(path.name) for error in errors)
    assert all(q.question.strip() for q in questions)


def test_unreadable_question_sets_raise_question_set_error(tmp_path):
    (tmp_path / "latin1.jsonl").write_bytes(b'{"question": "caf\xe9"}\n')
    (tmp_path / "folder.jsonl").mkdir()
    (tmp_path / "no-header.csv").write_text("")
    for name in ("latin1.jsonl", "folder.jsonl", "missing.jsonl", "no-header.csv"):
        with pytest.raises(QuestionSetError) as caught:
            load_question_set(tmp_path / name)
        assert name in str(caught.value)


# Cases the fuzzer found in load_question_set (fixed): each must be reported by line, never raised.


def test_deeply_nested_json_line_is_reported_not_raised(tmp_path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"question": "kept"}\n' + "[" * 100_000 + "\n")
    questions, errors = load_question_set(path)
    assert [q.question for q in questions] == ["kept"] and errors[0].startswith("deep.jsonl line 2: ")


def test_infinite_page_is_reported_not_raised(tmp_path):
    path = tmp_path / "inf.jsonl"
    path.write_text('{"question": "q", "expected_sources": [{"file": "g.pdf", "page": 1e999}]}\n')
    questions, errors = load_question_set(path)
    assert questions == [] and errors[0].startswith("inf.jsonl line 1: ")


def test_oversized_csv_field_is_reported_not_raised(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text('question\nfine\n"' + "a" * 200_000 + "\n")
    questions, errors = load_question_set(path)
    assert [q.question for q in questions] == ["fine"] and errors[0].startswith("big.csv line 3")


def test_line_separator_inside_a_json_string_keeps_the_line(tmp_path):
    path = tmp_path / "ls.jsonl"
    path.write_text('{"question": "first\u2028part"}\n{"question": 1}\n', encoding="utf-8")
    questions, errors = load_question_set(path)
    assert len(questions) == 1 and errors == ["ls.jsonl line 2: 'question' is missing or empty"]


def test_csv_line_numbers_count_physical_lines(tmp_path):
    path = tmp_path / "multi.csv"
    path.write_text('question,expected_sources\n"two\nlines",g.pdf#1\n"",g.pdf#1\n')
    _, errors = load_question_set(path)
    assert errors == ["multi.csv line 4: 'question' is missing or empty"]
