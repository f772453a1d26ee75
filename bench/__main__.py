"""Run every benchmark and write their figures to one JSON file.

python -m bench                 # full size
python -m bench --quick         # reduced size, for a smoke run
python -m bench ingest_pipeline # only the named ones
"""

from __future__ import annotations

import argparse
import importlib
import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

#: Benchmark modules in bench/, each with `run(quick: bool) -> dict`.
BENCHMARKS = [
    "ingest_pipeline",
    "reading",
    "delivery",
    "import_export",
    "load",
    "topics",
    "language",
    "cluster",
]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: {BENCHMARKS})")
    parser.add_argument("--quick", action="store_true", help="reduced sizes")
    parser.add_argument("--out", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args()
    names = args.names or BENCHMARKS
    figures: dict[str, object] = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "quick": args.quick,
    }
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        started = time.perf_counter()
        print(f"== {name}", file=sys.stderr, flush=True)
        result = module.run(quick=args.quick)
        result["wall_seconds"] = round(time.perf_counter() - started, 1)
        figures[name] = result
        print(json.dumps(result, ensure_ascii=False, indent=2), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"figures written to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
