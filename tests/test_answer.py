"""The extractive answerer on the bundled corpus: lists, numbers, abstention, follow-ups, markers that resolve."""

from __future__ import annotations

import re

from ioguide.answer import answer_from_json, answer_to_json, rewrite_follow_up
from ioguide.evaluate import citation_checks, load_question_set
from tests.conftest import ROOT


def test_list_question_returns_the_list_items(assistant):
    answer = assistant.ask("What are the grades of the 2017 CIRSE classification of complications?")
    assert answer.grounded
    bullets = [line for line in answer.text.split("\n") if line.lstrip().startswith("-")]
    assert len(bullets) >= 6, answer.text
    assert all(re.search(r"\[\d+\]$", line) for line in bullets)
    assert {c.doc_id for c in answer.citations} == {"cirse-complications-2017"}


def test_numeric_answer_keeps_the_number_and_unit_exactly(assistant):
    answer = assistant.ask("How many therapeutic IO procedures per year does IASIOS require?")
    assert answer.grounded and "150" in answer.text
    for c in answer.citations:
        passage = next(h for n, h in enumerate(answer.passages, start=1) if n == c.n)
        assert passage.chunk.text[c.start:c.end] == c.quote
        assert c.quote in answer.text  # quoted verbatim: numbers and units unaltered


def test_unanswerable_question_abstains_and_names_closest_documents(assistant):
    answer = assistant.ask("What is the recommended dose of pembrolizumab for melanoma?")
    assert not answer.grounded
    assert answer.text.startswith("The indexed documents do not cover this question.")
    assert answer.closest


def test_follow_up_is_rewritten_and_answered(assistant):
    history = ["What ablative margin is recommended for liver RFA?"]
    assert rewrite_follow_up("and for lung?", history) == "What ablative margin is recommended for lung RFA?"
    answer = assistant.ask("and in the 2026 edition?", history=["What are the grades of the 2017 CIRSE "
                                                                 "classification of complications?"])
    assert "2026" in answer.query and "grades" in answer.query
    assert any(c.doc_id == "cirse-complications-2026-modified" for c in answer.citations)


def test_self_contained_question_is_not_rewritten():
    q = "What does the IR patient safety checklist contain?"
    assert rewrite_follow_up(q, ["How long does IASIOS accreditation last?"]) == q


def test_every_marker_resolves_across_the_question_set(assistant):
    questions, errors = load_question_set(ROOT / "corpus" / "eval" / "questions.jsonl")
    assert not errors
    for q in questions:
        answer = assistant.ask(q.question)
        out = answer_to_json(answer)
        valid, total = citation_checks(answer)
        assert valid == total, (q.id, out["answer"])
        markers = {int(m) for m in re.findall(r"\[(\d+)\]", out["answer"])}
        assert markers <= {p["n"] for p in out["passages"]}
        if out["grounded"]:
            assert markers, q.id


def test_answer_json_round_trip_keeps_what_a_reader_sees(assistant):
    answer = assistant.ask("How many therapeutic IO procedures per year does IASIOS require?")
    again = answer_from_json(answer_to_json(answer))
    assert again.text == answer.text and again.grounded and again.citations == answer.citations
    assert [h.chunk.chunk_id for h in again.passages] == [h.chunk.chunk_id for h in answer.passages]
    assert citation_checks(again) == citation_checks(answer)
    assert answer_to_json(again)["citations"] == answer_to_json(answer)["citations"]


def test_source_labels_never_repeat_the_year(assistant):
    from ioguide.export import conversation_markdown
    from ioguide.render import source_label
    from ioguide.text import citation_label

    tace = "CIRSE Standards of Practice on Hepatic Transarterial Chemoembolisation (2021)"
    assert citation_label(tace, "2021", "Contraindications", [3]) == f"{tace} — Contraindications, p. 3"
    assert citation_label("Lung ablation", "2020") == "Lung ablation (2020)"
    answer = assistant.ask("What are the contraindications to TACE?")
    cited = {c.n for c in answer.citations}
    labels = [source_label(h) for n, h in enumerate(answer.passages, start=1) if n in cited]
    assert any(label.startswith(tace) for label in labels), labels
    markdown = conversation_markdown([(answer.question, answer)])
    assert "(2021) (2021)" not in markdown + " ".join(labels) + " ".join(answer.closest)


def test_question_kinds_as_people_type_them():
    from ioguide.sentence_rank import question_kind

    assert question_kind("min number of IO proceduers per year for iasios") == "number"
    assert question_kind("how long does IASIOS acreditation last") == "duration"
    assert question_kind("who led st jude's accreditation effort") == "who"
    assert question_kind("is there a deadline for submitting the iasios application?") == "yesno"
    assert question_kind("list the inaugural first year forward grant recipients") == "list"
    assert question_kind("what does IASIOS stand for") == "definition"
    assert question_kind("pt with child pugh B9 for tace?") == "case"


def test_a_gap_sentence_never_displaces_the_fact_it_sits_beside(assistant):
    """The corpus says the manual exists in 9 languages and, in a marked sentence, that it does not say which; it
    says a consultation fee exists and, marked, that its amount is not published."""
    count = assistant.ask("into how many languages has the IASIOS application manual been translated")
    assert count.grounded and "9 languages" in count.text
    assert "Not in the sources reviewed" not in count.text
    fee = assistant.ask("what is the amount of the IASIOS consultation fee?")
    assert not fee.grounded
    assert fee.citations and fee.citations[0].quote.startswith("Not in the sources reviewed:")


def test_a_one_fact_question_gets_a_short_answer(assistant):
    answer = assistant.ask("How long does IASIOS accreditation last?")
    assert answer.grounded and ("four-year" in answer.text or "four years" in answer.text)
    assert len(answer.citations) <= 3 and len(answer.text.split()) <= 100, answer.text


def test_a_described_case_is_answered_with_the_deciding_criteria(assistant):
    answer = assistant.ask("groin haematoma that just needed an unplanned overnight stay, no extra treatment: "
                           "which cirse grade?")
    assert answer.grounded, answer.text
    assert "48 h" in answer.text and "grade 2" in answer.text.lower()
    assert any(c.doc_id.startswith("cirse-complications") for c in answer.citations)


def test_reference_lists_are_quoted_only_when_asked(assistant):
    from dataclasses import replace

    from ioguide.answer import compose_extractive

    question = "How many therapeutic IO procedures per year does IASIOS require?"
    retrieval = assistant.retriever.retrieve(question, k=5)
    top = retrieval.hits[0]
    as_references = replace(retrieval, hits=[replace(top, chunk=replace(top.chunk, role="references"))]
                            + retrieval.hits[1:])
    answer = compose_extractive(question, as_references, assistant.retriever)
    assert all(c.chunk_id != top.chunk.chunk_id for c in answer.citations)
    assert any(c.chunk_id == top.chunk.chunk_id
               for c in compose_extractive(question, retrieval, assistant.retriever).citations)


def test_asked_the_fee_amount_the_answer_abstains_rather_than_quoting_that_a_fee_exists(assistant):
    """The corpus says an annual administration fee is invoiced, never how much it is; PVE passages say surgery
    follows PVE, never after how many weeks. Quoting those sentences would look like an answer."""
    for question in ("how much is the iasios annual administration fee",
                     "how many weeks after PVE should surgery be done"):
        answer = assistant.ask(question)
        assert not answer.grounded, answer.text
        assert answer.text.startswith("The indexed documents do not cover this question.")
    # A question whose asked figure is in the corpus is still answered with it.
    answer = assistant.ask("How many therapeutic IO procedures per year does IASIOS require?")
    assert answer.grounded and "150" in answer.text


def test_the_asked_slot_needs_a_figure_in_the_asked_unit():
    from ioguide.sentence_rank import slot_filled

    assert not slot_filled("what ablation margin in mm is recommended", ["A margin is recommended around it."])
    assert slot_filled("what ablation margin in mm is recommended", ["A margin of 5 mm is recommended."])
    assert not slot_filled("how much does the consultation cost", ["A consultation fee is charged."])
    assert slot_filled("how much does the consultation cost", ["The consultation costs EUR 500."])
    assert not slot_filled("how many weeks after PVE", ["Surgery follows PVE once the remnant has grown."])
    assert slot_filled("how many weeks after PVE", ["Surgery follows three to six weeks after PVE."])
    assert slot_filled("what does TACE stand for", ["TACE stands for transarterial chemoembolisation."])
    # "how many probes": a number counting the probes, not any number in the sentence.
    probes = "how many probes will be used for my tumour"
    assert not slot_filled(probes, ["The probes get colder than minus 100 degrees Celsius."])
    assert slot_filled(probes, ["Usually 2 or 3 probes are placed through the skin."])
    assert slot_filled("how many countires in the network", ["The network spans 24 countries."])


def test_asked_about_something_no_passage_mentions_the_answer_abstains_and_says_what(assistant):
    """On-topic questions whose specific subject (the generator's wattage, fasting before a biopsy) is nowhere in
    or around the closest sentences: quoting the nearest sentence about the topic would be a wrong answer."""
    for question, word in (("what wattage should the generator be set to for liver microwave ablation", "wattage"),
                           ("how many hours of fasting before a lung biopsy", "fasting")):
        answer = assistant.ask(question)
        assert not answer.grounded, answer.text
        assert any(word in note for note in answer.notes), answer.notes
    # Paraphrased questions whose subject the corpus does hold are still answered.
    for question, fact in (("minimum yearly number of IO procedures for iasios", "150"),
                           ("lung biopsy pneumothorax risk", "15–25%"),
                           ("who chaired the CIRSE safety checklist working group", "Michael Lee")):
        answer = assistant.ask(question)
        assert answer.grounded and fact in answer.text, (question, answer.text)


def test_a_sentence_saying_the_detail_could_not_be_checked_grounds_not_covered(assistant):
    answer = assistant.ask("the working group's exact definition of technique efficacy")
    assert not answer.grounded
    assert "could not be retrieved" in answer.text and len(answer.citations) == 1
    c = answer.citations[0]
    passage = answer.passages[c.n - 1]
    assert passage.chunk.text[c.start:c.end] == c.quote and c.quote in answer.text


def test_each_part_of_a_two_part_question_is_answered(assistant):
    from ioguide.answer import question_parts

    assert question_parts("pneumothorax rate after lung biopsy and chest tube rate") == [
        "pneumothorax rate after lung biopsy", "chest tube rate"]
    assert question_parts("post ablation syndrome - how common and how long") == [
        "post ablation syndrome how common", "post ablation syndrome how long"]
    assert question_parts("fasting times before sedation") == []
    answer = assistant.ask("lung biopsy - pneumothorax rate and chest drain rate")
    assert answer.grounded and "15–25%" in answer.text and "4–6%" in answer.text, answer.text


def test_spelling_and_typos_of_question_words():
    from ioguide.concepts import english_correction, spelling

    assert spelling("randomised") == spelling("randomized") == "randomized"
    assert spelling("haematoma") == "hematoma" and spelling("tumour") == "tumor"
    assert english_correction("usualy") == "usually"
    assert english_correction("shower") == ""  # an English word, not a typo


def test_spelling_of_a_long_run_of_letters_matches_the_word_rule():
    """The passage text is normalised as one run of letters in linear time, with the same result as spelling()."""
    import random

    from ioguide.concepts import spelling, spelling_of_text

    rng = random.Random(7)
    pieces = ["randomised", "tumour", "haematoma", "oesophagus", "analyse", "behaviour", "organisations", "is"]
    for _ in range(500):
        run = "".join(rng.choice(pieces + ["".join(rng.choices("aeiorstu", k=rng.randint(1, 5)))])
                      for _ in range(rng.randint(1, 40)))
        assert spelling_of_text(run) == spelling(run), run
    assert spelling_of_text("x" * 50 + "organisation").endswith("organization")


def test_asked_which_things_a_count_of_them_is_not_an_answer(assistant):
    from ioguide.concepts import counts_not_names

    assert counts_not_names("which languages is the manual in", ["It was translated into 9 languages."]) == "languages"
    assert counts_not_names("which languages is the manual in", ["It is in English, French and 7 other languages.",
                                                                 "The languages are listed on the website."]) == ""
    assert counts_not_names("how many languages", ["It was translated into 9 languages."]) == ""
    answer = assistant.ask("which languages has the iasios application manual been translated into")
    assert not answer.grounded, answer.text


def test_a_question_that_tells_a_story_is_not_vetoed_for_its_story_words(assistant):
    """A coordinator describing the ward's routine before asking: "registrar" and "holding bay" tell the story, the
    answer is the sentence on same-day consent. The concept check used to answer "not covered" for the missing
    story words; a short question that names an absent subject still gets the check."""
    from ioguide.concepts import tells_story

    question = ("our registrar takes consent from most patients on the morning of the procedure in the holding bay "
                "while the surgeons often do it weeks ahead in clinic - is same-day consent acceptable")
    assert tells_story(question)
    answer = assistant.ask(question)
    assert answer.grounded, (answer.text, answer.notes)
    assert "on the day of the procedure" in answer.text
    assert not tells_story("what wattage should the generator be set to for liver microwave ablation")


def test_how_many_times_and_how_many_did_are_filled_by_repeat_words_and_shares():
    """"How many times" is answered by "twice"; "how many needed a drain" by a share of the patients. Both used to
    abstain with "the closest passages do not give the asked figure"; a sentence with no figure still does."""
    from ioguide.sentence_rank import slot_filled

    assert slot_filled("how many times is the ice ball grown", ["The probe freezes the lesion twice, thawing between."])
    assert not slot_filled("how many times is the ice ball grown", ["Freezing takes about an hour."])
    assert slot_filled("of the pneumothoraces, how many needed a chest tube", ["A tube was placed in 38% of them."])
    assert not slot_filled("of the pneumothoraces, how many needed a chest tube", ["Chest tubes are sometimes used."])
