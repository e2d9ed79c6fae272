"""Evaluation harness: question-set parsing with bad lines, the run's files and report, comparison, the CI gate."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from ioguide.cli import app
from ioguide.evaluate import GATE_FILE, check_gate, load_question_set
from tests.conftest import ROOT, need_shared


def test_bad_lines_are_reported_by_number_and_the_rest_runs(tmp_path, corpus_index):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join([
        json.dumps({"id": "a", "question": "How many patients are in the IASIOS internal case review?",
                    "answer_facts": ["30"], "expected_sources": [{"doc_id": "iasios-internal-case-review"}],
                    "type": "numeric", "topic": "iasios", "owner": "kept and ignored"}),
        "{not json",
        json.dumps({"id": "c", "answer_facts": []}),
        json.dumps({"id": "d", "question": "What is the capital of Peru?", "type": "unanswerable"}),
    ]) + "\n")
    questions, errors = load_question_set(path)
    assert [q.id for q in questions] == ["a", "d"]
    assert errors[0].startswith("set.jsonl line 2: not valid JSON")
    assert errors[1] == "set.jsonl line 3: 'question' is missing or empty"
    assert questions[0].extra == {"owner": "kept and ignored"}
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", str(path), "--index", str(corpus_index), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "line 2" in result.output
    rows = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "d"]
    assert rows[0]["facts"] == {"30": True} and rows[0]["source_rank"] == 1 and rows[1]["abstained"]
    summary = json.loads((out / "summary.json").read_text())
    for key in ("n", "answerable", "unanswerable", "fact_accuracy", "fact_recall", "abstention_recall",
                "false_abstention_rate", "source_recall_at_k", "source_cited_rate", "mrr", "citation_validity",
                "answer_words_p50", "answer_words_p90", "latency_ms_p50", "latency_ms_p95", "config"):
        assert key in summary
    assert summary["n"] == 2 and summary["fact_accuracy"] == 1.0 and summary["abstention_recall"] == 1.0
    assert summary["wrong_answer_rate"] == 0.0  # no answer given that misses its fact
    assert summary["answer_words_p50"] == rows[0]["answer_words"] > 0
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 3 and "Failures (0)" in html and "answer_words_p90" in html


def test_split_option_runs_one_split_and_names_a_missing_one(tmp_path, corpus_index):
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in [
        {"id": "d1", "question": "How many patients are in the IASIOS internal case review?", "split": "dev",
         "answer_facts": ["30"]},
        {"id": "t1", "question": "How long does IASIOS accreditation last?", "split": "test",
         "answer_facts": ["four"]}]) + "\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", str(path), "--index", str(corpus_index), "--out", str(out),
                                      "--split", "test"])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["id"] for x in (out / "results.jsonl").read_text().splitlines()] == ["t1"]
    assert "answer_words_p50" in result.output
    result = CliRunner().invoke(app, ["eval", str(path), "--index", str(corpus_index), "--out", str(out),
                                      "--split", "holdout"])
    assert result.exit_code == 2 and "no question has split 'holdout'" in result.output


def test_expected_documents_missing_from_the_index_are_named(tmp_path, corpus_index):
    """An evaluator who indexed the wrong folder is told which expected documents are missing, not left with
    meaningless scores."""
    path = tmp_path / "set.jsonl"
    path.write_text("\n".join(json.dumps(q) for q in [
        {"id": "p1", "question": "ablative margin for liver ablation", "answer_facts": ["0.5"],
         "expected_sources": [{"file": "liver-ablation-guideline.pdf", "page": 1}]},
        {"id": "c1", "question": "How many patients are in the IASIOS internal case review?",
         "answer_facts": ["30"], "expected_sources": [{"doc_id": "no-such-document"}]},
        {"id": "c2", "question": "How long does IASIOS accreditation last?", "answer_facts": ["four"]}]) + "\n")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["eval", str(path), "--index", str(corpus_index), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "the index holds no file liver-ablation-guideline.pdf, which 1 question(s) expect (p1)" in result.output
    assert "the index holds no doc_id no-such-document, which 1 question(s) expect (c1)" in result.output
    errors = json.loads((out / "summary.json").read_text())["set_errors"]
    assert len(errors) == 2 and len((out / "results.jsonl").read_text().splitlines()) == 3


def test_csv_sets_and_file_page_sources(tmp_path):
    path = tmp_path / "set.csv"
    path.write_text("id,question,answer_facts,expected_sources,type,topic\n"
                    "q1,What margin?,5 mm|CT,handbook.pdf#3|iasios-faq,numeric,ablation\n"
                    "q2,,x,,factoid,\n"
                    "q3,Bad page?,x,handbook.pdf#three,factoid,\n")
    questions, errors = load_question_set(path)
    assert len(questions) == 1
    assert questions[0].answer_facts == ["5 mm", "CT"]
    assert questions[0].expected_sources == [{"file": "handbook.pdf", "page": 3}, {"doc_id": "iasios-faq"}]
    assert len(errors) == 2 and "line 3" in errors[0] and "line 4" in errors[1]


def test_compare_lists_improvements_and_regressions(tmp_path):
    def run(name, correct):
        d = tmp_path / name
        d.mkdir()
        rows = [{"id": f"q{i}", "question": f"Q{i}", "correct": c, "answer": f"{name}{i}"} for i, c in
                enumerate(correct)]
        (d / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        (d / "summary.json").write_text(json.dumps({"fact_accuracy": sum(correct) / len(correct)}))
        return d

    a, b = run("a", [True, False, True]), run("b", [True, True, False])
    result = CliRunner().invoke(app, ["eval", "compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    assert "+ q1: Q1" in result.output and "- q2: Q2" in result.output
    result = CliRunner().invoke(app, ["eval", "compare", str(a), str(tmp_path / "nope")])
    assert result.exit_code == 2 and "not an evaluation run folder" in result.output


def _passes_gate(tmp_path, index, gate_file):
    gate = json.loads(gate_file.read_text())
    out = tmp_path / "gate"
    result = CliRunner().invoke(app, ["eval", str(ROOT / gate["set"]), "--split", gate["split"], "--index",
                                      str(index), "--out", str(out), "--gate", "--gate-file", str(gate_file)])
    summary = json.loads((out / "summary.json").read_text())
    print(json.dumps({k: summary[k] for k in ("fact_accuracy", "abstention_recall", "false_abstention_rate",
                                             "wrong_answer_rate", "citation_validity", "source_cited_rate",
                                             "answer_words_p50", "answer_words_p90", "latency_ms_p50")}))
    assert result.exit_code == 0, result.output + "\n" + "\n".join(check_gate(summary, gate_file))
    assert "Gate passed." in result.output


def test_test_split_of_the_unseen_questions_passes_the_committed_gate(tmp_path, corpus_index):
    """The CI regression gate: the TEST split of the independently written corpus questions (never tuned on) keeps
    fact accuracy, abstention, citation validity, the cited source and answer length within the committed bounds."""
    _passes_gate(tmp_path, corpus_index, GATE_FILE)


def test_test_split_of_the_pdf_questions_passes_the_pdf_gate(tmp_path, embedder):
    """The same gate for real and realistic PDFs: the TEST split of unseen-pdfs.jsonl over the shared BSG guideline
    (two columns, tables, references) and the five generated journal and leaflet PDFs, indexed together."""
    from ingest.index import sync
    from ioguide.index import open_index

    shared_pdfs = need_shared("data", "pdfs")
    handle = open_index(tmp_path / "pdf-index", create=True)
    report = sync([shared_pdfs, ROOT / "tests" / "data" / "pdfs"], handle.store, handle.embedder, handle.bm25_dir)
    assert not report.skipped, report.skipped
    _passes_gate(tmp_path, tmp_path / "pdf-index", GATE_FILE.with_name("eval_gate_pdfs.json"))


def test_a_bad_gate_file_stops_the_run_before_it_starts(tmp_path):
    """A gate file that is missing, is not JSON or names an unknown metric is refused with its path and the reason,
    before any question is run (exit 2, one line, no traceback)."""
    questions = ROOT / "corpus" / "eval" / "offtopic.jsonl"
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{ not json")
    typo = tmp_path / "typo.json"
    typo.write_text(json.dumps({"minimums": {"fact_acuracy": 0.8}}))
    for path, reason in ((tmp_path / "none.json", "gate file not found"), (bad_json, "not valid JSON"),
                         (typo, "unknown metric(s) fact_acuracy")):
        result = CliRunner().invoke(app, ["eval", str(questions), "--index", str(tmp_path / "no-index"),
                                          "--out", str(tmp_path / "out"), "--gate", "--gate-file", str(path)])
        assert result.exit_code == 2, result.output
        assert str(path) in result.output and reason in result.output
        assert "Traceback" not in result.output
        assert not (tmp_path / "out").exists()


def test_off_topic_questions_all_abstain(tmp_path, corpus_index):
    out = tmp_path / "off"
    result = CliRunner().invoke(app, ["eval", str(ROOT / "corpus" / "eval" / "offtopic.jsonl"), "--index",
                                      str(corpus_index), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "summary.json").read_text())["abstention_recall"] >= 0.95
