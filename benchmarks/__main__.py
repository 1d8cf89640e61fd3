"""`make bench`: every benchmark scenario, each in a fresh subprocess, compared against its baseline in one run.

    python -m benchmarks [--quick] [--cluster] [--only NAME ...] [--output bench-results/latest.json]

Prints one JSON document (every scenario's figures, the baseline measured in the same run, the ratio, the goal
and pass/fail), then a short table. Writes the same document to bench-results/latest.json. A full run takes
under 10 minutes on 2 cores; --quick is a ~2-minute smoke run with smaller sizes (its figures are not the goals').
PostgreSQL scenarios run when LABELBOT_TEST_POSTGRES_URL is set; the cluster one (two bot processes and the REST
proxy on 5,000 servers, several minutes) only with --cluster.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = bool(os.environ.get("LABELBOT_TEST_POSTGRES_URL"))


def scenarios(quick: bool, cluster: bool = False) -> list[tuple[str, list[str], int]]:
    """(name, module arguments, timeout in seconds)."""
    q = ["--quick"] if quick else []
    jobs = ["--jobs", "200", "--window", "10", "--rows", "2000"] if quick else []
    out = [
        ("interactions", ["benchmarks.bench_interactions", *q], 400),
        ("jobs", ["benchmarks.bench_jobs", "--backend", "sqlite", *jobs], 200),
        ("fanout", ["benchmarks.bench_fanout", *q], 500),
        ("recovery", ["benchmarks.bench_recovery"], 300),
        ("memory", ["benchmarks.bench_memory", *q], 200),
        ("database", ["benchmarks.bench_database", *q], 400),
        ("parties", ["benchmarks.bench_parties", *q], 200),
        ("web-pages", ["benchmarks.bench_web_pages", *q], 300),
    ]
    if POSTGRES:
        out.append(("parties-postgres", ["benchmarks.bench_parties", "--backend", "postgres", *q], 200))
        out.append(("recovery-postgres", ["benchmarks.bench_recovery", "--backend", "postgres"], 300))
        out.append(("takeover-postgres", ["benchmarks.bench_takeover", "--backend", "postgres"], 300))
        out.append(("web-pages-postgres", ["benchmarks.bench_web_pages", "--backend", "postgres", *q], 300))
    if cluster and POSTGRES:
        # Opt-in (--cluster): 5,000 servers, two bot processes and the REST proxy take several minutes.
        size = ["--servers", "1000", "--labels", "200", "--memory-servers", "200"] if quick else []
        out.append(("cluster-postgres", ["benchmarks.bench_cluster", *size], 1500))
    return out


def parse_output(stdout: str) -> Any:
    """A benchmark's JSON document: its last line, or (for the pretty-printed ones) all of stdout."""
    lines = [line for line in stdout.strip().splitlines() if line.strip()]
    if lines:
        try:
            return json.loads(lines[-1])
        except json.JSONDecodeError:
            pass
    start = stdout.find("{")
    return json.loads(stdout[start:])


def jobs_results(document: dict[str, Any]) -> list[dict[str, Any]]:
    """bench_jobs.py (owned by the jobs feature) prints its own shape; put it in the common one."""
    goals = document["goals"]
    lateness = document["lateness"]
    startup_ms = max(document["startup"]["ms"], document["startup_all_within_an_hour"]["ms"])
    backend = document["backend"]
    return [
        {
            "scenario": f"jobs.lateness.{backend}",
            "figures": lateness,
            "baseline": None,
            "ratio": {"p99_over_goal": round(lateness["p99_ms"] / goals["lateness_p99_ms"], 3)},
            "goal": f"p99 < {goals['lateness_p99_ms']:g} ms",
            "pass": lateness["p99_ms"] < goals["lateness_p99_ms"],
            "notes": "absolute goal (no baseline)",
        },
        {
            "scenario": f"jobs.startup.{backend}",
            "figures": {
                "startup": document["startup"],
                "startup_all_within_an_hour": document["startup_all_within_an_hour"],
            },
            "baseline": None,
            "ratio": {"ms_over_goal": round(startup_ms / goals["startup_ms"], 3)},
            "goal": f"startup with {document['startup']['pending_rows']:,} pending jobs < {goals['startup_ms']:g} ms",
            "pass": startup_ms < goals["startup_ms"],
            "notes": "absolute goal (no baseline)",
        },
    ]


def run_scenario(name: str, arguments: list[str], timeout: int) -> dict[str, Any]:
    began = time.perf_counter()
    try:
        completed = subprocess.run(
            [sys.executable, "-m", *arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        return {"name": name, "error": f"timed out after {timeout} s", "stderr": str(error.stderr)[-2000:]}
    seconds = round(time.perf_counter() - began, 1)
    if completed.returncode != 0:
        return {
            "name": name,
            "seconds": seconds,
            "error": f"exit {completed.returncode}",
            "stderr": completed.stderr[-3000:],
        }
    try:
        document = parse_output(completed.stdout)
    except (json.JSONDecodeError, ValueError) as error:
        return {
            "name": name,
            "seconds": seconds,
            "error": f"no JSON document: {error}",
            "stdout": completed.stdout[-2000:],
        }
    results = jobs_results(document) if name == "jobs" else document["results"]
    return {"name": name, "seconds": seconds, "document": document, "results": results}


def headline(entry: dict[str, Any]) -> tuple[str, str, str]:
    """The one figure, its baseline and the ratio a table row shows."""
    name = entry["scenario"]
    figures, baseline, ratios = entry["figures"], entry.get("baseline") or {}, entry.get("ratio") or {}
    if name.startswith("interactions.") and name.endswith(".answer"):
        return f"p50/p99 {figures['p50_ms']}/{figures['p99_ms']} ms; late {figures['past_deadline']}", "-", "-"
    if name.startswith("interactions."):
        seq, base = figures["sequential"]["callback"], baseline["sequential"]["callback"]
        conc, cbase = figures["concurrent"]["callback"], baseline["concurrent"]["callback"]
        return (
            f"seq p50/p99 {seq['p50_ms']}/{seq['p99_ms']} ms; conc {conc['p50_ms']}/{conc['p99_ms']} ms; "
            f"late {figures['past_deadline']}",
            f"{base['p50_ms']}/{base['p99_ms']}; {cbase['p50_ms']}/{cbase['p99_ms']}",
            f"{ratios['sequential_callback_p50']}/{ratios['sequential_callback_p99']}; "
            f"{ratios['concurrent_callback_p50']}/{ratios['concurrent_callback_p99']}",
        )
    if name.startswith("fanout."):
        seconds = figures.get("elapsed_s", figures.get("seconds"))
        return (
            f"{seconds} s, 429s {figures['requests_429']}",
            f"min {baseline.get('minimum_s')} s",
            str(ratios.get("elapsed_over_minimum")),
        )
    if name.startswith("recovery."):
        return (
            f"{figures['seconds']} s after restart, twice {figures['duplicates']}",
            f"{baseline.get('seconds')} s (no crash)",
            str(ratios.get("seconds_over_goal")),
        )
    if name.startswith("takeover."):
        return (
            f"{figures['seconds']} s after the kill, {figures['finished_by_the_survivor']} taken over",
            f"lease {baseline.get('seconds')} s",
            str(ratios.get("seconds_over_goal")),
        )
    if name.startswith("web_pages."):
        uncached = baseline["uncached"]
        return (
            f"{figures['requests_per_s']} req/s, p99 {figures['p99_ms']} ms (304: {figures['not_modified']['requests_per_s']} "
            f"req/s; /livez {figures['livez']['requests_per_s']})",
            f"uncached {uncached['requests_per_s']} req/s, p99 {uncached['p99_ms']} ms",
            str(ratios.get("requests_per_s_over_uncached")),
        )
    if name == "cluster.burst":
        return (
            f"{figures['burst_seconds']} s, {figures['global_429s']} global 429s, ready {figures['startup_seconds']} s",
            f"min {baseline.get('minimum_seconds')} s; one process {baseline['one_process']['burst_seconds']} s",
            str(ratios.get("burst_over_minimum")),
        )
    if name == "cluster.memory_per_server":
        return f"{figures['kib_per_server']} KiB/server", f"{baseline['rss_mib']} MiB", "-"
    if name.startswith("memory."):
        return f"{figures['rss_mib']} MiB", f"{baseline['rss_mib']} MiB", str(ratios["rss"])
    if name.startswith("jobs.startup"):
        ms = max(figures["startup"]["ms"], figures["startup_all_within_an_hour"]["ms"])
        return f"{ms} ms", "-", str(ratios.get("ms_over_goal"))
    if "p99_ms" in figures:
        return f"p50/p99 {figures['p50_ms']}/{figures['p99_ms']} ms", "-", str(next(iter(ratios.values()), "-"))
    return json.dumps(figures)[:60], "-", "-"


def table(document: dict[str, Any]) -> str:
    rows = [("scenario", "figures", "baseline", "ratio", "goal", "pass")]
    for entry in document["results"]:
        figure, base, ratio = headline(entry)
        rows.append((entry["scenario"], figure, base, ratio, entry["goal"], "PASS" if entry["pass"] else "FAIL"))
    for failed in document["errors"]:
        rows.append((failed["name"], failed["error"], "-", "-", "-", "ERROR"))
    widths = [min(70, max(len(r[i]) for r in rows)) for i in range(len(rows[0]))]
    lines = []
    for n, row in enumerate(rows):
        lines.append(" | ".join(cell[: widths[i]].ljust(widths[i]) for i, cell in enumerate(row)).rstrip())
        if n == 0:
            lines.append("-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a ~2-minute smoke run with smaller sizes")
    parser.add_argument("--only", action="append", help="run only these scenarios (interactions, jobs, ...)")
    parser.add_argument("--cluster", action="store_true", help="also the cluster scenario (PostgreSQL, node)")
    parser.add_argument("--output", default=str(ROOT / "bench-results" / "latest.json"))
    args = parser.parse_args()
    began = time.perf_counter()
    runs = []
    for name, arguments, timeout in scenarios(args.quick, args.cluster):
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        runs.append(run_scenario(name, arguments, timeout))
        print(f"  {name}: {runs[-1].get('seconds', '-')} s {runs[-1].get('error', '')}", file=sys.stderr, flush=True)
    document = {
        "quick": args.quick,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - (time.perf_counter() - began))),
        "seconds": round(time.perf_counter() - began, 1),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "postgres": POSTGRES,
        "results": [entry for run in runs for entry in run.get("results", [])],
        "errors": [{k: v for k, v in run.items() if k != "document"} for run in runs if "error" in run],
        "runs": {run["name"]: run.get("seconds") for run in runs},
    }
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(json.dumps(document, indent=2, default=str))
    print()
    print(table(document))
    passed = sum(1 for entry in document["results"] if entry["pass"])
    print(f"\n{passed}/{len(document['results'])} goals met, {len(document['errors'])} errors, {document['seconds']} s")


if __name__ == "__main__":
    main()
