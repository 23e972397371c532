"""Time the offline analyzer over the request corpus (examples/requests/*.yaml).

Usage: ``python benchmarks/analyzer_speed.py [--repeat N]``. Prints the one-time
cost of the first call (it builds the lexicon from the catalog) and the mean,
median, 95th percentile and maximum per request over N passes of the corpus,
good and bad requests alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from dlgen.agent.offline import analyze_offline
from dlgen.errors import DlgenError

CORPUS = Path(__file__).resolve().parents[1] / "examples" / "requests"


def load_requests() -> list[str]:
    """Every request of the corpus, good and bad."""
    requests: list[str] = []
    for path in sorted(CORPUS.glob("*.yaml")):
        requests.extend(entry["request"] for entry in yaml.safe_load(path.read_text("utf-8")))
    return requests


def time_one(request: str) -> float:
    """Milliseconds to analyze ``request`` (errors count: refusing is work too)."""
    start = time.perf_counter()
    try:
        analyze_offline(request)
    except DlgenError:
        pass
    return (time.perf_counter() - start) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="passes over the corpus")
    args = parser.parse_args()
    requests = load_requests()
    first = time_one(requests[0])
    timings = [time_one(request) for _ in range(args.repeat) for request in requests]
    timings.sort()
    p95 = timings[int(0.95 * (len(timings) - 1))]
    print(f"requests: {len(requests)} x {args.repeat} passes")
    print(f"first call (builds the lexicon): {first:.1f} ms")
    print(
        f"per request: mean {statistics.mean(timings):.2f} ms, "
        f"median {statistics.median(timings):.2f} ms, p95 {p95:.2f} ms, "
        f"max {timings[-1]:.2f} ms"
    )


if __name__ == "__main__":
    main()
