"""Numbers as a reader means them: "three weeks" = "21 days" = "3 weeks", "48 h" = "two days", "0.5 cm" = "5 mm",
"42 percent" = "42%", "4-year" = "4 years". Used by verification to compare what a sentence states with what a
passage states, exactly: only conversions that are exact are made (weeks to days, years to months; never months to
weeks), and a number keeps its unit, so "1 mm" does not match "1 cm".

Hand-written on purpose: quantulum3 and pint parse units but not "forty-eight", "twice a year" or ranges such as
"1, 3 and 6 months", and pull in large unit databases; this is about 150 lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import normalise_text

_SMALL = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"]
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
         "ninety": 90}
_WORD_VALUE = {w: i for i, w in enumerate(_SMALL)} | _TENS
# (dimension, factor to the dimension's base unit). Months and years share a base; days and weeks another: a month
# is not a whole number of days, so "3 months" never equals "12 weeks".
UNITS: dict[str, tuple[str, float]] = {}
for _names, _dim, _factor in (
        (("min", "mins", "minute", "minutes"), "time", 1.0),
        (("h", "hr", "hrs", "hour", "hours"), "time", 60.0),
        (("day", "days"), "time", 1440.0),
        (("week", "weeks", "wk", "wks"), "time", 10080.0),
        (("month", "months", "mo"), "months", 1.0),
        (("year", "years", "yr", "yrs"), "months", 12.0),
        (("μm", "micrometre", "micrometres", "micrometer", "micrometers", "micron", "microns"), "length", 1.0),
        (("mm", "millimetre", "millimetres", "millimeter", "millimeters"), "length", 1000.0),
        (("cm", "centimetre", "centimetres", "centimeter", "centimeters"), "length", 10000.0),
        (("%", "percent"), "share", 1.0),
        (("‰", "permille"), "share", 0.1),
        (("gy", "gray"), "dose", 1.0),
        (("mgy",), "dose", 0.001),
        (("bq",), "activity", 1.0),
        (("mbq",), "activity", 1e6),
        (("gbq",), "activity", 1e9)):
    for _name in _names:
        UNITS[_name] = (_dim, _factor)

_NUM = r"\d+(?:\.\d+)?"
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in UNITS), key=len, reverse=True))
_RUN = re.compile(rf"(?<![\w.])({_NUM}(?:\s*(?:–|-|to|,|and|or)\s*{_NUM})*)\s*({_UNIT_ALT})?(?![\w])", re.I)
_NUM_IN_RUN = re.compile(_NUM)
_WORDS = "|".join(sorted(_WORD_VALUE, key=len, reverse=True))
_COMPOUND = re.compile(rf"\b({'|'.join(_TENS)})[-\s]({'|'.join(_SMALL[1:10])})\b", re.I)
_NUMBER_WORD = re.compile(rf"\b({_WORDS})\b", re.I)
_UNIT_WORDS = "minutes?|hours?|days?|weeks?|months?|years?|centimetres?|millimetres?|percent|per cent"
_FREQUENCY = [
    (re.compile(r"\btwice (?:a|per|each) year\b", re.I), "every 6 months"),
    (re.compile(r"\b(?:once (?:a|per|each) year|annually|yearly|every year|each year)\b", re.I), "every 12 months"),
    (re.compile(r"\b(?:twice (?:a|per|each) day)\b", re.I), "every 12 hours"),
    (re.compile(r"\b(?:daily|once (?:a|per|each) day|every day)\b", re.I), "every 24 hours"),
    (re.compile(r"\b(?:weekly|once (?:a|per|each) week|every week)\b", re.I), "every 7 days"),
    (re.compile(r"\b(?:monthly|once (?:a|per|each) month|every month)\b", re.I), "every 1 month"),
]


_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d]|,\d)|"
                        r"(?<![\d.,] )(?<![\d.,])\d{1,3}(?: \d{3})+(?![\d]| \d|,\d)")
# Shares written as words, turned into the exact percentage: "a fifth of", "one in five", "1 in 20", "half of",
# "three quarters of". Only exact ones: a third is no whole or short percentage, so "a third" never equals "33%".
# Shares written as words, turned into the exact percentage: "a fifth of", "three quarters", "seven in ten",
# "1 in 20", "half of". Only exact ones: a third is no short percentage, so "a third" never equals "33%"; a bare
# "half" or "a quarter" needs "of" ("a half" is 0.5, "half-life" no share).
_FRACTION = {"half": 50, "halves": 50, "quarter": 25, "quarters": 25, "fifth": 20, "fifths": 20, "tenth": 10,
             "tenths": 10, "twentieth": 5, "twentieths": 5, "hundredth": 1, "hundredths": 1}
_NUMERATOR = {"a": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
              "nine": 9}
_FRACTION_RE = re.compile(rf"\b(?:({'|'.join(_NUMERATOR)})[\s-]+)?(halves|half|quarters?|fifths?|tenths?|"
                          r"twentieths?|hundredths?)\b(\s+of\b)?", re.I)
_DENOMINATOR = {"two": 2, "four": 4, "five": 5, "ten": 10, "twenty": 20, "hundred": 100, "a hundred": 100,
                "a thousand": 1000}
_IN_RE = re.compile(rf"\b(\d{{1,3}}|{'|'.join(_WORD_VALUE)}) (?:in|out of) ({'|'.join(_DENOMINATOR)}|2|4|5|10|20|25|"
                    r"50|100|1000)\b(?!\s*(?:minutes?|hours?|days?|weeks?|months?|years?|mm|cm|%|‰|-))", re.I)


_LABEL_BEFORE = re.compile(r"\b(?:grades?|class(?:es)?|stages?|types?|levels?|tiers?|asa|bclc|categor(?:y|ies))\s*$",
                           re.I)


_HEDGE_BEFORE = re.compile(r"\b(?:nearly|almost|approximately|about|around|roughly|some|close to|just (?:under|over)|"
                           r"approx\.?|~)\s*$", re.I)


def _pct(value: float) -> str:
    return f"{round(value, 6):g}%"


def _share_words(text: str) -> str:
    def fraction(m: re.Match) -> str:
        word = m.group(2).lower()
        if m.group(1) is None and not (word == "half" and m.group(3)) or _HEDGE_BEFORE.search(text, 0, m.start()):
            return m.group(0)  # "nearly half" may be 49%: a hedged share is not an exact one
        n = _NUMERATOR[(m.group(1) or "a").lower()]
        if word == "half" and n != 1 or n > 1 and not word.endswith("s") or n == 1 and word.endswith("s") \
                or m.group(1) and m.group(1).lower() == "a" and word == "half" and not m.group(3):
            return m.group(0)  # "a half" (0.5), "two half", "three quarter", "one quarters": not a share
        return _pct(n * _FRACTION[word]) + (m.group(3) or "")

    text = _FRACTION_RE.sub(fraction, text)

    def share(m: re.Match) -> str:
        n = m.group(1).lower()
        num = float(n) if n[0].isdigit() else _WORD_VALUE[n]
        d = m.group(2).lower()
        den = _DENOMINATOR.get(d) or int(d)
        if not 0 < num < den or _LABEL_BEFORE.search(text, 0, m.start()) or _HEDGE_BEFORE.search(text, 0, m.start()):
            return m.group(0)  # "grade 3 in 4 patients" is a grade
        return _pct(100 * num / den)

    return _IN_RE.sub(share, text)


def canonical_text(text: str) -> str:
    """text with numbers written as digits and units in one spelling: NFKC ("10⁹" -> "109", as indexed passages
    are), number words ("forty-eight" -> "48", "two and a half" -> "2.5"), "per cent" -> "%", "4-year" -> "4 year",
    "twice a year" -> "every 6 months". "one" becomes 1 only before a unit ("one of them" stays a word)."""
    text = normalise_text(text)
    # "3,000", "1,000,000" and "100 000" are one number; "1, 2 and 3" (a space after the comma), "1,25" and "1 2 3"
    # stay lists
    text = _THOUSANDS.sub(lambda m: re.sub("[, ]", "", m.group(0)), text)
    text = re.sub(r"\bper ?cent\b", "%", text, flags=re.I)
    text = re.sub(r"\bper ?mille\b", "‰", text, flags=re.I)
    text = _share_words(text)
    for pattern, repl in _FREQUENCY:
        text = pattern.sub(repl, text)
    text = re.sub(rf"\b({_WORDS}) and a half\b", lambda m: f"{_WORD_VALUE[m.group(1).lower()]}.5", text, flags=re.I)
    text = re.sub(r"\b(\d+) and a half\b", r"\1.5", text)
    text = re.sub(r"\b(?:a|one) half\b(?!-)", "0.5", text, flags=re.I)  # "a half-life" is no number
    text = _COMPOUND.sub(lambda m: str(_TENS[m.group(1).lower()] + _WORD_VALUE[m.group(2).lower()]), text)

    def word(m: re.Match) -> str:
        w = m.group(1).lower()
        if w == "one":
            after = text[m.end():m.end() + 16].lstrip(" -").lower()
            # "one-item checklist" counts items as "20-item" does; "one of them" stays a word
            if not re.match(rf"(?:{_UNIT_WORDS})\b|[%‰]", after) and not text.startswith("-", m.end()):
                return m.group(0)
        return str(_WORD_VALUE[w])

    text = _NUMBER_WORD.sub(word, text)
    return re.sub(r"(\d)-((?:minute|hour|day|week|month|year)s?)\b", r"\1 \2", text, flags=re.I)


@dataclass(frozen=True)
class Quantity:
    raw: float  # the number as written
    dim: str | None  # "time", "months", "length", "share", ... ; None without a unit
    value: float  # raw in the dimension's base unit (raw when dim is None)


# What may stand between a quantity and a bare number that takes its unit: up to four words, none of them a label
# word ("48 h, grade 3" leaves 3 bare).
_CARRY = re.compile(r"[\s,;-]*(?:(?!(?:grades?|class(?:es)?|stages?|standards?|types?|levels?|tiers?|asa|bclc|"
                    r"child|pugh|phases?)\b)[^\W\d_]+[\s,;-]*){0,4}", re.I)


def quantities(text: str, carry: bool = True) -> list[Quantity]:
    """The numbers of canonical text with the unit that follows them, ranges and lists sharing it: "1, 3 and 6
    months" gives three quantities in months. With carry (for passages), a bare number a few words after a quantity
    in the same clause takes its unit: "at least 5 years of follow-up, preferably 10" gives 10 years. A claim's
    numbers are read without carry: its "48 months ... has 2 options" states no "2 months"."""
    out: list[Quantity] = []
    last: tuple[str, float, int] | None = None  # dimension, factor, end of the last quantity with a unit
    for m in _RUN.finditer(text):
        unit = (m.group(2) or "").lower()
        dim, factor = UNITS.get(unit, (None, 1.0))
        if dim is None and carry and last is not None and _CARRY.fullmatch(text, last[2], m.start()):
            dim, factor = last[0], last[1]
        if dim is not None:
            last = (dim, factor, m.end())
        for n in _NUM_IN_RUN.findall(m.group(1)):
            raw = float(n)
            out.append(Quantity(raw, dim, raw * factor))
    return out


def quantity_runs(text: str, carry: bool = True) -> list[tuple[int, int, list[Quantity]]]:
    """quantities(text) grouped by run, with each run's offsets: "1, 3 and 6 months" is one run of three."""
    runs = [(m.start(), m.end(), len(_NUM_IN_RUN.findall(m.group(1)))) for m in _RUN.finditer(text)]
    found = quantities(text, carry)
    out, i = [], 0
    for a, b, n in runs:
        out.append((a, b, found[i:i + n]))
        i += n
    return out


def same_quantity(q: Quantity, other: Quantity) -> bool:
    """The same amount: in the same dimension when q has a unit, else the same number."""
    if q.dim is None:
        return _same(q.raw, other.raw)
    return other.dim == q.dim and _same(other.value, q.value)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def missing_quantities(claim: list[Quantity], source: list[Quantity]) -> list[Quantity]:
    """The quantities of claim that source does not state. A number with a unit needs the same amount in the same
    dimension ("2 days" = "48 h"; "3 weeks" is not in "3 months", nor in a bare "3"); a number without a unit needs
    the same number."""
    out = []
    for q in claim:
        if q.dim is None:
            ok = any(_same(q.raw, s.raw) for s in source)
        else:
            ok = any(s.dim == q.dim and _same(s.value, q.value) for s in source)
        if not ok:
            out.append(q)
    return out


def describe(q: Quantity, text: str) -> str:
    """How a quantity of canonical text reads in a message: "21 days", "0.5 mm" (from "0.5 to 1.0 mm"), "48"."""
    for m in _RUN.finditer(text):
        for n in _NUM_IN_RUN.findall(m.group(1)):
            if _same(float(n), q.raw) and (UNITS.get((m.group(2) or "").lower(), (None,))[0] == q.dim):
                return f"{n} {m.group(2)}" if m.group(2) else n
    return f"{q.raw:g}"


# Comparators before a number ("more than 40", "at most 3 mm", "no thicker than 3 mm") or after it ("5 mm or less"),
# read as a direction: +1 (the amount is a lower bound) or -1 (an upper bound). "no"/"not" before a comparative
# turns it round: "no thicker than 3 mm" is "at most 3 mm".
_UP_WORDS = "more|greater|longer|larger|higher|bigger|thicker|older|wider|heavier|later"
_DOWN_WORDS = "less|fewer|shorter|smaller|lower|younger|thinner|narrower|lighter|earlier"
_PRE = re.compile(
    rf"(?:\b(?P<neg>no|not)\s+)?(?:\b(?P<up>(?:{_UP_WORDS})\s+than|over|above|exceed(?:s|ed|ing)?|in excess of|"
    rf"at least|a minimum of|minimum of|beyond)\b|(?P<up_sign>[≥>])|"
    rf"\b(?P<down>(?:{_DOWN_WORDS})\s+than|under|below|at most|up to|a maximum of|maximum of)\b|(?P<down_sign>[≤<]))"
    rf"\s*(?:an?\s+)?(?P<approx>about\s+|approximately\s+|around\s+)?(?=\d)", re.I)
_POST = re.compile(r"\s+or\s+(?:(?P<up>more|greater|higher|above|longer|larger|over)|"
                   r"(?P<down>less|fewer|lower|below|shorter|smaller|under))\b", re.I)


def comparators(text: str) -> list[tuple[Quantity, int]]:
    """The bounded quantities of canonical text with their direction: "more than 40 societies" -> (40, +1),
    "no thicker than 3 mm" -> (3 mm, -1), "5 mm or less" -> (5 mm, -1), "under 48 h" -> (48 h, -1)."""
    out: list[tuple[Quantity, int]] = []
    for m in _PRE.finditer(text):
        if m.group("approx") and (m.group("up") or "").lower() == "over":
            continue  # "over about two years" is a span of time, not a bound
        sign = 1 if m.group("up") or m.group("up_sign") else -1
        if m.group("neg"):
            sign = -sign
        found = quantities(text[m.end():], carry=False)
        if found:
            out.append((found[0], sign))
    for m in _RUN.finditer(text):
        post = _POST.match(text, m.end())
        if post:
            sign = 1 if post.group("up") else -1
            unit = (m.group(2) or "").lower()
            dim, factor = UNITS.get(unit, (None, 1.0))
            last = float(_NUM_IN_RUN.findall(m.group(1))[-1])
            out.append((Quantity(last, dim, last * factor), sign))
    return out


_RANGE = re.compile(rf"(?<![\w.])({_NUM})\s*(?:–|-|to)\s*({_NUM})(?![\w]|\.\d)")  # "0–2." ends a sentence
_REPEAT = re.compile(rf"(?<![\w.])({_NUM})\s*(?:–|-|to|and|or|,)\s*({_NUM})(?![\w]|\.\d)")


def conflicting_ranges(claim: str, source: str) -> list[tuple[float, float]]:
    """The ranges of claim ("25–25%") that source does not state, where source gives one of their bounds in
    another range ("15–25%"): a bound moved within a stated range; and a number joined to itself ("10–10 mm",
    "grades 3 and 3") that source does not write so."""
    src = [(float(a), float(b)) for a, b in _RANGE.findall(source)]
    out = []
    for a, b in ((float(x), float(y)) for x, y in _RANGE.findall(claim)):
        if (a, b) not in src and any(a in r or b in r for r in src):
            out.append((a, b))
    src_repeats = {float(a) for a, b in _REPEAT.findall(source) if float(a) == float(b)}
    out += [(float(a), float(b)) for a, b in _REPEAT.findall(claim)
            if float(a) == float(b) and float(a) not in src_repeats]
    return list(dict.fromkeys(out))


_COUNT = re.compile(r"(?<![\w.])(\d{1,2})\s+(?!(?:" + _UNIT_ALT + r")\b)([^\W\d_]+(?:\s+[^\W\d_]+){0,6})\s*:\s*(.+)$",
                    re.I)
_PAREN_COUNT = re.compile(r"(?<![\w.])(\d{1,2})\s+([^\W\d_]+(?:\s+[^\W\d_]+){0,4})\s*\(([^()]+)\)", re.I)
_ASIDE = re.compile(r"^\s*(?:where|if|when|as|such as|for example)\b(?:\s+\S+){0,2}\s*$", re.I)
_BRACKETED = re.compile(r"\s*\([^()]*\)")


def counted_items(text: str) -> dict[float, str]:
    """Counts of canonical text that count the items it lists, with the text of the items: "3 aims: a, b and c" ->
    {3: "a, b and c"}; "5 core items (a, c, e, f and g)" -> {5: "a, c, e, f and g"}. Brackets inside the items
    ("liver disease (AST/ALT)") are no items of their own; items may split at ";" ("a, the commonest; b; and c")."""
    out: dict[float, str] = {}
    for pattern in (_COUNT, _PAREN_COUNT):
        for m in pattern.finditer(text):
            items = m.group(3).rstrip(" .")
            if pattern is _COUNT:
                items = _BRACKETED.sub("", items)
            parts = [p for p in re.split(r"[,;]|\s+(?:and|or)\s+", items) if p.strip()]
            commas = [p for p in re.split(r"[,;]", items) if p.strip()]
            tail = 1 if commas and re.search(r"\s(?:and|or)\s", commas[-1]) else 0
            top = [p for p in re.split(r",?\s+(?:and|or)\s+", items) if p.strip()]
            plain = [p for p in parts if not _ASIDE.match(p)]
            semis = [re.sub(r"^\s*(?:and|or)\s+", "", p) for p in items.split(";") if p.strip()] if ";" in items \
                else []
            n = int(m.group(1))
            for split in (parts, commas, top, plain, semis):
                if n >= 2 and len(split) == n:
                    out.setdefault(float(n), items)
                    break
            else:
                if n >= 2 and tail and len(commas) + 1 == n:
                    out.setdefault(float(n), items)
    return out


def list_counts(text: str) -> set[float]:
    """Counts of canonical text that count the items it lists: "3 aims: a, b and c" -> {3}; "5 core items (a, c,
    e, f and g)" -> {5}. A true summary states such a count although the passage only lists the items."""
    return set(counted_items(text))
