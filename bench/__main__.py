"""Run every benchmark: `python3 -m bench` (or `python3 -m bench startup report` for some).

Each `bench/bench_<name>.py` is a module with a `main() -> int` that prints the numbers it
measured and their ratios within the same run (never against a remembered figure).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).parent
    return sorted(
        m.name.removeprefix("bench_") for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )


def main(argv: list[str]) -> int:
    names = argv or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available())}", file=sys.stderr)
        return 2
    worst = 0
    for name in names:
        print(f"== bench {name} ==", flush=True)
        start = time.monotonic()
        worst = max(worst, int(importlib.import_module(f"bench.bench_{name}").main() or 0))
        print(f"== bench {name}: {time.monotonic() - start:.1f}s ==\n", flush=True)
    return worst


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
