"""Bounds of a claim ("at least 5", "under 30", "55 years or over") judged against a quote as a paraphrase writes
them: ioguide.quantities.comparators reads the bounds, this module reads a few more ways a passage writes one
("maximum 4 mg", "aged 55 years and over") and lets a bound match on its written number when one side carries no
unit or a share carried over from a list ("women under 30" for "women younger than 30 years"). The amount itself
is checked by ioguide.quantities.missing_quantities, so a changed unit is still caught there."""

from __future__ import annotations

import re

from .quantities import Quantity, comparators, same_quantity

# "maximum 4 mg" / "minimum 2 cm" (without "of"), "55 years and over" / "and older" / "and above"
_MAXIMUM = re.compile(r"\b(?:maximum|max\.?)\s+(?=\d)", re.I)
_MINIMUM = re.compile(r"\b(?:minimum|min\.?)\s+(?=\d)", re.I)
_AND_OVER = re.compile(r"(?<=\w)\s+and\s+(over|above|older|more)\b", re.I)
_AND_UNDER = re.compile(r"(?<=\w)\s+and\s+(under|below|younger|less)\b", re.I)
_LOOSE_DIMS = (None, "share")


def _written_bounds(text: str) -> str:
    text = _MAXIMUM.sub("at most ", text)
    text = _MINIMUM.sub("at least ", text)
    text = _AND_OVER.sub(lambda m: " or " + {"older": "over", "more": "more"}.get(m.group(1).lower(), m.group(1)), text)
    return _AND_UNDER.sub(lambda m: " or " + {"younger": "under"}.get(m.group(1).lower(), m.group(1)), text)


def _matches(q: Quantity, r: Quantity) -> bool:
    if same_quantity(q, r) or same_quantity(r, q):
        return True
    return (q.dim in _LOOSE_DIMS or r.dim in _LOOSE_DIMS) and abs(q.raw - r.raw) <= 1e-9 * max(1.0, abs(q.raw))


def missing_bounds(claim: str, source: str) -> list[tuple[Quantity, int]]:
    """The bounds of claim (canonical) that source (canonical) does not state in the same direction for the same
    amount: "over 42" is not in "42", nor "thicker than 3 mm" in "at most 3 mm thick"; "up to 4 mg" is in
    "maximum 4 mg", "under 30" in "younger than 30 years"."""
    src = comparators(_written_bounds(source))
    return [(q, s) for q, s in comparators(_written_bounds(claim))
            if not any(s == t and _matches(q, r) for r, t in src)]
