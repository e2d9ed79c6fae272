"""Figures and narrowing words bound to the words they belong to: a claim that swaps two figures of one passage
sentence ("0.15% for RFA and 0.23% for MWA" written the other way round) shows every number the passage shows and is
still removed; a claim that adds "only" to a statement the passage does not narrow is removed, while "only" written
for a negation ("used only within trials" for "not outside trials") or weighing a figure ("only 40%") is kept."""

from __future__ import annotations

import pytest

from ioguide.verify_align import added_qualifiers, figure_words, swapped_figures, swapped_sides, swapped_terms
from ioguide.verify_bind import misbound_figures
from ioguide.verify_terms import canonical, claim_terms
from tests.conftest import bench_verify, verify_row

# Our own wording (facts as they are commonly reported; no sentence of a source).
PASSAGE = (
    "A pooled review of 30 series reported a mortality of 0.15% after radiofrequency ablation and 0.3% after "
    "microwave ablation. "
    "Glass microspheres measure 20–30 μm across, while resin microspheres measure 20–60 μm. "
    "Lactose intolerance was found in 8% of the coeliac patients, against 3% of the controls. "
    "Capsule endoscopy should be offered to any patient with anaemia, weight loss, abdominal pain or bleeding. "
    "New drugs should not be used outside clinical trials. "
    "Only 40% of the patients surveyed could name the procedure. "
    "A pacemaker is no contraindication to microwave ablation, but radiofrequency ablation needs the device checked "
    "by cardiology before and after the procedure. "
    "Skin blistering is seen twice as often in men as in women. "
    "Most patients without the disease do not carry the DQ8 gene.")


def row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, PASSAGE, "Alignment fixture")


def _swapped(claim: str) -> list[str]:
    return swapped_figures(canonical(claim), canonical(PASSAGE))


@pytest.mark.parametrize("claim", [
    "The review reported a mortality of 0.3% after radiofrequency ablation and 0.15% after microwave ablation.",
    "Resin microspheres measure 20 to 30 micrometres and glass microspheres 20 to 60 micrometres.",
    "Lactose intolerance was found in 3% of the coeliac patients, against 8% of the controls.",
])
def test_two_figures_of_one_sentence_given_to_each_others_words_are_swapped(claim):
    assert _swapped(claim)


@pytest.mark.parametrize("claim", [
    "The review reported a mortality of 0.15% after radiofrequency ablation and 0.3% after microwave ablation.",
    "After microwave ablation mortality was 0.3%, after radiofrequency ablation 0.15%.",
    "Resin microspheres are 20 to 60 micrometres across and glass microspheres 20 to 30 micrometres.",
    "Among controls 3% had lactose intolerance, against 8% of coeliac patients.",
])
def test_figures_kept_with_their_own_words_in_any_order_are_not_swapped(claim):
    assert not _swapped(claim)


def test_a_figure_owns_the_words_of_its_clause_before_or_after_it_and_a_label_before_its_bracket():
    owned = figure_words(canonical("Clear cell (80–90%), papillary (10–15%) and chromophobe (4–5%)."), carry=False)
    assert [sorted(words) for _q, words in owned] == [["cell", "clear"], ["papillari"], ["chromophob"]]
    owned = figure_words(canonical("mortality was 0.15% for RFA and 0.3% for MWA"), carry=False)
    assert [sorted(words) for _q, words in owned] == [["mortal", "rfa"], ["mwa"]]


@pytest.mark.parametrize(("claim", "swapped"), [
    ("A pacemaker does not rule out radiofrequency ablation, whereas microwave ablation needs the device checked by "
     "cardiology before and after the procedure.", True),
    ("A pacemaker does not rule out microwave ablation, whereas radiofrequency ablation needs the device checked by "
     "cardiology before and after the procedure.", False),
    ("Radiofrequency ablation needs a cardiology check of the device before and after the procedure, but a pacemaker "
     "is no contraindication to microwave ablation.", False),
    ("Skin blistering is seen twice as often in women as in men.", True),
    ("Skin blistering is seen twice as often in men as in women.", False),
    ("Skin blistering is seen half as often in women as in men.", False),  # the comparison turned round with it
])
def test_terms_exchanged_between_two_clauses_or_two_sides_of_a_comparison(claim, swapped):
    c, p = canonical(claim), canonical(PASSAGE)
    assert bool(swapped_terms(c, p) or swapped_sides(c, p)) == swapped


@pytest.mark.parametrize(("claim", "added"), [
    ("Capsule endoscopy should be offered only to patients with bleeding.", ["only"]),
    ("Glass microspheres always measure 20 to 30 micrometres across.", ["always"]),
    ("New drugs should always be avoided outside clinical trials.", []),  # "always avoided" for "not used"
    ("New drugs should be used only within clinical trials.", []),  # "only" for "not outside"
    ("Only 40% of the patients surveyed could name the procedure.", []),  # the passage's own "only"
    ("Just 40% of surveyed patients could name the procedure, only a minority.", []),  # weighs a figure
])
def test_only_and_always_need_a_narrowing_or_negating_word_in_the_restated_sentence(claim, added):
    c = canonical(claim)
    assert added_qualifiers(claim_terms(c), c, canonical(PASSAGE)) == added


def test_bench_removes_swapped_figures_and_an_added_only_and_keeps_their_true_paraphrases(tmp_path):
    rows = [
        row("t-figures", "A pooled review of 30 series found a mortality of 0.15% after radiofrequency ablation and "
                         "0.3% after microwave ablation [1]."),
        row("t-only-for-not", "New drugs should be used only within clinical trials [1]."),
        row("t-lack", "Most patients without the disease lack the DQ8 gene [1]."),
        row("f-lack", "Most patients without the disease carry the DQ8 gene [1]."),
        row("f-technique", "A pacemaker does not rule out radiofrequency ablation, whereas microwave ablation needs "
                           "the device checked by cardiology before and after the procedure [1]."),
        row("f-sides", "Skin blistering is seen twice as often in women as in men [1]."),
        row("f-figures", "A pooled review of 30 series found a mortality of 0.3% after radiofrequency ablation and "
                         "0.15% after microwave ablation [1]."),
        row("f-sizes", "Glass microspheres measure 20–60 μm across, while resin microspheres measure 20–30 μm [1]."),
        row("f-only", "Capsule endoscopy should be offered only to patients with bleeding [1]."),
    ]
    by_id = bench_verify(tmp_path, rows)
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}


# Our own wording, dense the way guideline prose is: several negations in one sentence, lists written in prose.
DENSE = (
    "After two embolisation sessions without an objective response, further embolisation should not be performed "
    "and the case should go back to the tumour board. "
    "The term gluten covers not only wheat proteins but also the proteins of barley and rye. "
    "Specific serology with or without a total IgA level is the preferred strategy for detection. "
    "Small bowel imaging is advised in patients with pain, fever, obstruction, anaemia, bleeding or weight loss. "
    "No aspiration deaths were reported in adults of ASA physical status 1 or 2. "
    "Not all commercial antibody kits are reliable, and the rule should therefore not be used in every centre.")


def dense_row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, DENSE, "Dense fixture")


DENSE_ROWS = [
    dense_row("t-no-further", "If two sessions bring no objective response, no further embolisation should be "
                              "performed and the case should return to the tumour board [1]."),
    dense_row("t-not-only", "The term gluten covers the proteins of wheat, barley and rye [1]."),
    dense_row("t-with-or-without", "The preferred strategy for detection is specific serology, with or without a "
                                   "total IgA level [1]."),
    dense_row("t-six", "Six features call for small bowel imaging: pain, fever, obstruction, anaemia, bleeding and "
                       "weight loss [1]."),
    dense_row("t-asa", "No aspiration deaths were reported in adults of ASA 1 or 2 [1]."),
    dense_row("f-reliable", "All commercial antibody kits are reliable [1]."),
    dense_row("f-further", "If two sessions bring no objective response, further embolisation should be performed "
                           "[1]."),
    dense_row("f-seven", "Seven features call for small bowel imaging: pain, fever, obstruction, anaemia, bleeding "
                         "and weight loss [1]."),
    dense_row("f-asa", "No aspiration deaths were reported in adults of ASA 3 or 4 [1]."),
]


def test_bench_keeps_reworded_negations_prose_list_counts_and_asa_status_and_removes_their_corruptions(tmp_path):
    by_id = bench_verify(tmp_path, DENSE_ROWS)
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}


def test_a_half_life_is_no_number_and_a_prose_list_is_counted_one_way_only():
    from ioguide.quantities import canonical_text
    from ioguide.verify_align import listed_counts

    assert canonical_text("yttrium-90 has a half-life of 64 hours") == "yttrium-90 has a half-life of 64 hours"
    passage = claim_terms(canonical("Aims are consolidating the fracture, relieving pain and restoring height."))
    assert listed_counts(canonical("Three aims: consolidating the fracture, relieving pain and, where possible, "
                                   "restoring height."), passage) == {3.0}
    assert listed_counts(canonical("Four aims: consolidating the fracture, relieving pain and, where possible, "
                                   "restoring height."), passage) == set()


def test_a_name_of_letters_and_digits_must_be_written_in_the_passage():
    from ioguide.verify_align import unknown_identifiers

    passage = canonical("Specific serology such as IgA-TG2 and IgG-DGP is preferred; HLA-DQ2 or HLA-DQ8 typing helps.")
    assert unknown_identifiers(canonical("IgG-TG2 and IgA-DGP are preferred."), passage) == ["IgG-TG2"]
    assert unknown_identifiers(canonical("IgA TG2 and IgG DGP are preferred; HLA-DQ8 typing helps."), passage) == []


# Our own wording: several figures of one kind in neighbouring sentences, each for another thing.
FIGURES = (
    "In a pooled series of 500 procedures, technical success was reached in 98% and the mean volume gain was 35%. "
    "Resection was abandoned because of disease progression in 7% and because of too little growth in 3%. "
    "Major bleeding occurred in 4% of the procedures and one patient died. "
    "Recurrence at two years was seen in 12% of the ablated tumours.")


def figures_row(answer_id: str, answer: str) -> dict:
    return verify_row(answer_id, answer, FIGURES, "Figures fixture")


@pytest.mark.parametrize(("claim", "stated"), [
    ("Major bleeding occurred in 3% of the procedures.", "3%"),
    ("Resection was abandoned because of disease progression in 4%.", "4%"),
    ("In the pooled series, technical success was reached in 35%.", "35%"),
])
def test_a_figure_the_passage_gives_to_other_words_is_misbound(claim, stated):
    found = misbound_figures(canonical(claim), canonical(FIGURES))
    assert len(found) == 1 and found[0].startswith(f"{stated} for '")


@pytest.mark.parametrize("claim", [
    "Major bleeding occurred in 4% of the procedures.",
    "Resection was abandoned in 7% because the disease progressed and in 3% because growth was too little.",
    "Technical success was reached in 98% of 500 procedures, with a mean volume gain of 35%.",
    "12% of the ablated tumours recurred within two years.",
])
def test_a_figure_stated_with_its_own_words_in_any_wording_is_bound(claim):
    assert misbound_figures(canonical(claim), canonical(FIGURES)) == []


def test_bench_removes_a_neighbouring_figure_and_names_both_things_it_is_given_for(tmp_path):
    rows = [
        figures_row("t-bleeding", "Major bleeding occurred in 4% of the procedures [1]."),
        figures_row("t-reasons", "Resection was abandoned in 7% because the disease progressed and in 3% because "
                                 "growth was too little [1]."),
        figures_row("f-bleeding", "Major bleeding occurred in 3% of the procedures [1]."),
        figures_row("f-progression", "Resection was abandoned because of disease progression in 4% [1]."),
        # the figure of the other reason in the same passage sentence: every word and number is in that sentence
        figures_row("f-same-sentence", "Resection was abandoned because of disease progression in 3% [1]."),
    ]
    by_id = bench_verify(tmp_path, rows)
    assert {i: r["removed"] for i, r in by_id.items() if r["kept"] != i.startswith("t-")} == {}
    reason = by_id["f-same-sentence"]["removed"][0]["reason"]
    assert "3%" in reason and "disease progression" in reason and "growth" in reason
