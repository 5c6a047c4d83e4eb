"""Record the final parameters of every run in ``bit_identical_cases`` into ``bit_identical.json``.

Run once on the code whose results are the reference (it was run on the commit before the engine
moved into ``deltaprop/engine``), from the repository root:

    PYTHONPATH=src python tests/data/make_bit_identical.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    sys.path.insert(0, str(HERE.parent))
    import bit_identical_cases as cases

    record = {"environment": cases.environment(), "runs": {}}
    for name, path in cases.runs():
        params = cases.run(name, path)
        record["runs"][f"{name} {path}"] = {"sha256": cases.digest(params), "sample": cases.sample(params)}
        print(f"{name:24} {path:16} {record['runs'][f'{name} {path}']['sha256'][:16]}")
    runs = ",\n".join(f" {json.dumps(key)}: {json.dumps(value)}" for key, value in record["runs"].items())
    text = f'{{"environment": {json.dumps(record["environment"])},\n"runs": {{\n{runs}\n}}}}\n'
    (HERE / "bit_identical.json").write_text(text)  # one run a line


if __name__ == "__main__":
    main()
