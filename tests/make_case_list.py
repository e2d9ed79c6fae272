"""A synthetic case list of a test centre: pseudonymous case ids, procedure dates in 2025, procedure types in
realistic proportions, operators by code. No patient data of any kind (there is none to leak).

    python tests/make_case_list.py cases.csv --n 300 --seed 7
"""

from __future__ import annotations

import argparse
import csv
import random
from datetime import date, timedelta
from pathlib import Path

PROCEDURES = {"TACE": 0.34, "Microwave ablation": 0.24, "Radiofrequency ablation": 0.14, "TARE": 0.12,
              "Cryoablation": 0.08, "Portal vein embolisation": 0.05, "Vertebroplasty": 0.03}
OPERATORS = ("OP-01", "OP-02", "OP-03", "OP-04", "OP-05")


def make_case_list(path: Path, n: int = 300, seed: int = 7, extra_columns: dict[str, str] | None = None) -> Path:
    """Write n cases to path (CSV: case_id, date, procedure, operator [+ extra columns with a fixed value])."""
    rng = random.Random(seed)
    kinds, weights = zip(*PROCEDURES.items(), strict=True)
    extra = extra_columns or {}
    with Path(path).open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["case_id", "date", "procedure", "operator", *extra])
        for i in range(1, n + 1):
            day = date(2025, 1, 1) + timedelta(days=rng.randrange(365))
            writer.writerow([f"IO-25-{i:04d}", day.isoformat(), rng.choices(kinds, weights)[0],
                             rng.choice(OPERATORS), *extra.values()])
    return Path(path)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(make_case_list(args.out, args.n, args.seed))
