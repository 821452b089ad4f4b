"""A tiny benchmark harness: `python -m bench [names...] [--quick] [--keep]`.

A benchmark is a module in this package that exposes

    NAME = "ping"
    async def run(ctx: bench.Context) -> dict      # or a plain `def run(ctx)`

and is listed in `BENCHMARKS`. `run` returns a dict with (all optional except `series`):

    description  one line: what is measured
    inputs       the parameters of this run (sample counts, batch sizes, ...)
    unit         the unit of the samples, e.g. "ms"
    series       {label: summary(samples)}  -- see `summary()`
    ratios       {name: value}
    target       {"metric": "ratios.p50", "max": 1.15, "text": "..."}
    passed       bool: was the target met
    extra        anything else machine-readable
    notes        [str]: caveats worth reading next to the numbers

The harness adds name, timestamp, duration and the environment (Python, Synapse and nio
versions, nproc, load average), writes `bench/results/<name>.json` and `<name>.md`, and prints
a summary. Benchmarks report; they do not gate: a missed target still exits 0 (it is printed
as MISSED). A benchmark that crashes is printed as ERROR and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import inspect
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

# Module names in this package, in the order `python -m bench` runs them.
BENCHMARKS: tuple[str, ...] = (
    "ping", "labs", "roles", "booking", "experts", "milestones", "reminders", "announce",
)


@dataclass
class Context:
    """What a benchmark gets: a private temp dir, the quick flag and a logger."""

    name: str
    tmp: Path
    quick: bool = False
    root: Path = ROOT
    results: Path = RESULTS
    started: float = field(default_factory=time.monotonic)

    def log(self, message: str) -> None:
        elapsed = time.monotonic() - self.started
        print(f"  [{self.name} {elapsed:6.1f}s] {message}", flush=True)


# --- statistics --------------------------------------------------------------------------


@asynccontextmanager
async def database(kind: str, ctx: Context, name: str) -> AsyncIterator[str]:
    """A database URL for one benchmark: a SQLite file in the temp dir, or a fresh PostgreSQL
    database (dropped afterwards) on the server LABNETZ_TEST_DATABASE_URL names."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{ctx.tmp / name}.db"
        return
    from tests.databases import fresh_postgres

    async with fresh_postgres() as url:
        yield url


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100), linear between closest ranks (numpy's default)."""
    if not samples:
        return math.nan
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def summary(samples: Sequence[float], digits: int = 2) -> dict[str, float | int]:
    """n, p50, p95, p99, mean, stdev, min, max of the samples (rounded)."""
    n = len(samples)
    if n == 0:
        return {"n": 0}
    mean = sum(samples) / n
    stdev = math.sqrt(sum((x - mean) ** 2 for x in samples) / (n - 1)) if n > 1 else 0.0
    values = {
        "p50": percentile(samples, 50),
        "p95": percentile(samples, 95),
        "p99": percentile(samples, 99),
        "mean": mean,
        "stdev": stdev,
        "min": min(samples),
        "max": max(samples),
    }
    return {"n": n, **{k: round(v, digits) for k, v in values.items()}}


def ratio(a: float, b: float, digits: int = 3) -> float | None:
    return round(a / b, digits) if b else None


# --- environment -------------------------------------------------------------------------


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _git() -> dict[str, Any] | None:
    """The commit under test (read-only git calls); None outside a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT, capture_output=True, text=True, timeout=5,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return {"commit": commit, "dirty": bool(dirty)} if commit else None


def environment() -> dict[str, Any]:
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        usable = os.cpu_count()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "synapse": _version("matrix-synapse"),
        "nio": _version("matrix-nio"),
        "sqlalchemy": _version("sqlalchemy"),
        "nproc": usable,
        "cpu_count": os.cpu_count(),
        "loadavg": load,
        "platform": platform.platform(),
        "machine": platform.machine(),
        "git": _git(),
    }


# --- results -----------------------------------------------------------------------------


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return "–" if value is None else str(value)


def status_of(result: dict[str, Any]) -> str:
    if result.get("error"):
        return "ERROR"
    if "passed" not in result:
        return "REPORTED"
    return "met" if result["passed"] else "MISSED"


def markdown(result: dict[str, Any]) -> str:
    """A short Markdown report: one table of the series, the ratios and the target."""
    env = result.get("environment", {})
    unit = result.get("unit", "")
    lines = [
        f"# Benchmark `{result['name']}`{' (quick)' if result.get('quick') else ''}",
        "",
        *([result["description"], ""] if result.get("description") else []),
        f"{result['timestamp']} · Python {env.get('python')} · Synapse {env.get('synapse')} · "
        f"nio {env.get('nio')} · nproc {env.get('nproc')} · load {env.get('loadavg')}",
        "",
    ]
    if result.get("error"):
        lines += ["**ERROR**", "", "```", result["error"].rstrip(), "```", ""]
    series: dict[str, dict[str, Any]] = result.get("series", {})
    if series:
        cols = ["n", "p50", "p95", "mean", "min", "max"]
        lines.append("| series | " + " | ".join(c if c == "n" else f"{c} ({unit})" for c in cols) + " |")
        lines.append("|---|" + "---:|" * len(cols))
        for label, stats in series.items():
            lines.append(f"| {label} | " + " | ".join(_fmt(stats.get(c)) for c in cols) + " |")
        lines.append("")
    ratios = result.get("ratios", {})
    target = result.get("target")
    if ratios or target:
        lines += ["| ratio | value |", "|---|---:|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in ratios.items()]
        lines.append("")
    if target:
        lines.append(f"Target: {target.get('text', target)} → **{status_of(result)}**")
        lines.append("")
    for note in result.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def write_result(result: dict[str, Any], directory: Path = RESULTS) -> tuple[Path, Path]:
    json_path = directory / f"{result['name']}.json"
    md_path = directory / f"{result['name']}.md"
    _write_atomic(json_path, json.dumps(result, indent=2, sort_keys=False, default=str) + "\n")
    _write_atomic(md_path, markdown(result))
    return json_path, md_path


# --- running -----------------------------------------------------------------------------


def run_one(name: str, *, quick: bool, keep: bool) -> dict[str, Any]:
    module = importlib.import_module(f"bench.{name}")
    bench_name = getattr(module, "NAME", name)
    tmp = Path(tempfile.mkdtemp(prefix=f"labnetz-bench-{bench_name}-"))
    ctx = Context(name=bench_name, tmp=tmp, quick=quick)
    print(f"== {bench_name}{' (quick)' if quick else ''}: temp dir {tmp}", flush=True)
    started_at = datetime.now(UTC)
    env_before = environment()
    t0 = time.monotonic()
    result: dict[str, Any]
    try:
        outcome = module.run(ctx)
        if inspect.isawaitable(outcome):
            outcome = asyncio.run(outcome)  # type: ignore[arg-type]
        result = dict(outcome or {})
    except BaseException as err:  # KeyboardInterrupt too: record what happened, then stop
        result = {"error": "".join(traceback.format_exception(err))}
        keep = True
        if not isinstance(err, Exception):
            _finish(bench_name, result, started_at, t0, env_before, quick)
            raise
    _finish(bench_name, result, started_at, t0, env_before, quick)
    if keep:
        print(f"   kept temp dir (logs): {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def _finish(
    name: str,
    result: dict[str, Any],
    started_at: datetime,
    t0: float,
    env_before: dict[str, Any],
    quick: bool,
) -> None:
    env = environment()
    env["loadavg_before"] = env_before.get("loadavg")
    ordered = {
        "name": name,
        "timestamp": started_at.isoformat(timespec="seconds"),
        "duration_seconds": round(time.monotonic() - t0, 1),
        "quick": quick,
        "status": status_of(result),
        "environment": env,
    }
    result_items = dict(result)
    result.clear()
    result.update(ordered)
    result.update(result_items)
    write_result(result)


def print_summary(results: list[dict[str, Any]]) -> None:
    print()
    print("Benchmark summary")
    for result in results:
        status = status_of(result)
        head = f"  {result['name']:<12} {status}"
        if status == "ERROR":
            last = result["error"].strip().splitlines()[-1]
            print(f"{head}  ({last})")
            continue
        unit = result.get("unit", "")
        print(head + (f"  target: {result['target'].get('text')}" if result.get("target") else ""))
        for label, stats in result.get("series", {}).items():
            print(
                f"    {label:<26} n={stats.get('n'):<4} p50 {_fmt(stats.get('p50')):>7} {unit}"
                f"  p95 {_fmt(stats.get('p95')):>7} {unit}  mean {_fmt(stats.get('mean')):>7} {unit}"
                f"  min {_fmt(stats.get('min'))}  max {_fmt(stats.get('max'))}"
            )
        for key, value in result.get("ratios", {}).items():
            print(f"    ratio {key:<16} {_fmt(value)}")
        if status == "MISSED":
            print(f"    *** MISSED: {result['target'].get('text')} ***")
        print(f"    -> {RESULTS.relative_to(ROOT)}/{result['name']}.json, .md")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all: {', '.join(BENCHMARKS)})")
    parser.add_argument("--quick", action="store_true", help="fewer samples: a smoke run, noisier numbers")
    parser.add_argument("--keep", action="store_true", help="keep the temp dirs (Synapse and bot logs)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(BENCHMARKS))
        return 0
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    results = [run_one(name, quick=args.quick, keep=args.keep) for name in names]
    print_summary(results)
    return 1 if any(status_of(r) == "ERROR" for r in results) else 0
