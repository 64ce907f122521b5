#!/usr/bin/env python3
"""SPF evaluation speed: Rampart against pyspf and libspf2 on one local authoritative zone.

Run by bench/run (or directly, as root). Everything happens inside a private network and mount
namespace: Knot DNS serves the generated zone on 127.0.0.1:53 and /etc/resolv.conf is replaced
(inside the namespace only) by one naming it, so the two peers, which read the system resolver
configuration, query the same server as Rampart's --dns. Knot's mod-stats counts the queries each
tool sends, so "DNS queries per evaluation" is measured at the server, identically for all three.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = ("libspf2", "pyspf")
RESULTS = ("pass", "fail", "softfail", "neutral", "none", "permerror", "temperror")


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, **kw)


class Knot:
    def __init__(self, work: Path, zone: Path, origin: str):
        self.work = work
        self.conf = work / "knot.conf"
        self.conf.write_text(f"""server:
    rundir: "{work}"
    user: root:root
    listen: 127.0.0.1@53
database:
    storage: "{work}"
mod-stats:
  - id: default
    request-protocol: on
template:
  - id: default
    storage: "{work}"
    global-module: mod-stats/default
zone:
  - domain: {origin}
    file: "{zone}"
""")

    def start(self):
        sh(["knotd", "-c", str(self.conf), "-d"])
        for _ in range(100):
            r = subprocess.run(["knotc", "-c", str(self.conf), "zone-status"], capture_output=True, text=True)
            serial = r.stdout.split("serial:")[-1].split("|")[0].strip() if "serial:" in r.stdout else ""
            if r.returncode == 0 and serial.isdigit():
                return
            time.sleep(0.1)
        raise SystemExit("bench_spf: knotd did not load the zone")

    def queries(self) -> int:
        out = subprocess.run(["knotc", "-c", str(self.conf), "stats"], capture_output=True, text=True).stdout
        total = 0
        for line in out.splitlines():
            if line.startswith("mod-stats.request-protocol"):
                total += int(line.split("=")[1])
        return total

    def stop(self):
        subprocess.run(["knotc", "-c", str(self.conf), "stop"], capture_output=True)


def read_results(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def spfquery_results(stdout: str) -> list[str]:
    # spfquery prints a block per query whose first line is the result name.
    return [line.strip() for line in stdout.splitlines() if line.strip() in RESULTS + ("error",)]


def measure(name, cmd, knot: Knot, out_file: Path, reps: int, parse_stdout=None):
    runs = []
    for _ in range(reps):
        before = knot.queries()
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        queries = knot.queries() - before
        if parse_stdout is None and proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            raise SystemExit(f"bench_spf: {name} failed ({proc.returncode})")
        results = parse_stdout(proc.stdout) if parse_stdout else read_results(out_file)
        if not results:
            sys.stderr.write(f"bench_spf: {name} printed nothing usable; rc={proc.returncode}; stderr: {proc.stderr[-2000:]}; stdout: {proc.stdout[:500]}\n")
        runs.append((wall, queries, results))
    walls = [r[0] for r in runs]
    return {"name": name, "wall_s": statistics.median(walls), "walls": walls,
            "queries": runs[-1][1], "results": runs[-1][2]}


def inside(args):
    work = Path(tempfile.mkdtemp(prefix="spfbench-"))
    try:
        sh(["ip", "link", "set", "lo", "up"])
        resolv = work / "resolv.conf"
        resolv.write_text("nameserver 127.0.0.1\noptions timeout:2 attempts:2\n")
        sh(["mount", "--bind", str(resolv), "/etc/resolv.conf"])
        data = Path(args.data).resolve()
        manifest = json.loads((data / "manifest.json").read_text())
        knot = Knot(work, data / "bench.zone", manifest["origin"])
        knot.start()
        inputs = data / "inputs.txt"
        n = manifest["evaluations"]
        out = work / "results.txt"
        tools = []
        for threads in args.threads:
            tools.append(measure(f"rampart ({threads} thread{'s' if threads > 1 else ''})",
                                 [str(Path(args.rampart_bench).resolve()), "--dns", "127.0.0.1:53", "--threads", str(threads),
                                  "--out", str(out), str(inputs)], knot, out, args.reps))
        if "libspf2" in args.peers:
            tools.append(measure("libspf2 (spfquery -f)", ["spfquery", "-f", str(inputs)], knot, out,
                                 args.reps, parse_stdout=spfquery_results))
        if "pyspf" in args.peers:
            tools.append(measure("pyspf", ["/usr/bin/python3", str(HERE / "pyspf_run.py"), str(inputs), str(out)],
                                 knot, out, max(1, args.reps - 2)))
        knot.stop()
        report = {"evaluations": n, "manifest": manifest, "tools": []}
        reference = {t["name"]: t["results"] for t in tools}
        for t in tools:
            if len(t["results"]) != n:
                raise SystemExit(f"bench_spf: {t['name']} gave {len(t['results'])} results for {n} inputs")
        rampart = tools[0]["results"]
        for t in tools:
            agree = sum(1 for a, b in zip(rampart, t["results"]) if a == b)
            report["tools"].append({
                "name": t["name"], "wall_s": round(t["wall_s"], 4),
                "walls": [round(w, 4) for w in t["walls"]],
                "evaluations_per_s": round(n / t["wall_s"], 1),
                "queries_per_evaluation": round(t["queries"] / n, 3),
                "results": dict(Counter(t["results"])),
                "agrees_with_rampart": agree,
            })
        print(json.dumps(report, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rampart-bench", required=True, help="the bench_spf binary")
    ap.add_argument("--out-dir", required=True, type=Path)
    ap.add_argument("--domains", type=int, default=int(os.environ.get("BENCH_SPF_DOMAINS", 3000)))
    ap.add_argument("--stream", type=int, default=int(os.environ.get("BENCH_SPF_STREAM", 27000)))
    ap.add_argument("--reps", type=int, default=int(os.environ.get("BENCH_SPF_REPS", 3)))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 16])
    # Peers to compare with; pyspf alone takes about a minute, so iterating on Rampart may leave
    # it out (BENCH_SPF_PEERS="libspf2"). At least one peer is needed for the ratio column.
    ap.add_argument("--peers", nargs="+", choices=PEERS,
                    default=os.environ.get("BENCH_SPF_PEERS", " ".join(PEERS)).split())
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--data", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside(args)
    if os.geteuid() != 0:
        raise SystemExit("bench_spf: needs root (a private network namespace and Knot on port 53)")
    args.out_dir = args.out_dir.resolve()
    data = args.out_dir / f"spf-{args.domains}-{args.stream}"
    if not (data / "manifest.json").exists():
        sh([sys.executable, str(HERE / "gen_zone.py"), "--domains", str(args.domains),
            "--stream", str(args.stream), "--out", str(data)])
    cmd = ["unshare", "--net", "--mount", "--fork", sys.executable, str(Path(__file__).resolve()),
           "--inside", "--data", str(data), "--rampart-bench", args.rampart_bench,
           "--out-dir", str(args.out_dir), "--reps", str(args.reps), "--threads", *map(str, args.threads), "--peers", *args.peers]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(proc.returncode)
    report = json.loads(proc.stdout)
    (args.out_dir / "spf.json").write_text(json.dumps(report, indent=1))
    tools = report["tools"]
    peers = [t for t in tools if not t["name"].startswith("rampart")]
    fastest_peer = max(peers, key=lambda t: t["evaluations_per_s"])
    n = report["evaluations"]
    print(f"\nSPF check_host: {n} evaluations over {report['manifest']['domains']} domains "
          f"(each once, then {report['manifest'].get('stream', 0)} Zipf-distributed) "
          f"({report['manifest']['over_limit_domains']} over the 10-lookup limit, "
          f"{report['manifest']['dead_include_domains']} with a dead include), Knot on 127.0.0.1")
    print(f"{'tool':<26}{'wall':>9}{'evals/s':>11}{'queries/eval':>14}{'vs ' + fastest_peer['name'].split()[0]:>14}{'same result':>13}")
    for t in tools:
        ratio = t["evaluations_per_s"] / fastest_peer["evaluations_per_s"]
        print(f"{t['name']:<26}{t['wall_s']:>8.3f}s{t['evaluations_per_s']:>11,.0f}"
              f"{t['queries_per_evaluation']:>14.2f}{ratio:>13.1f}×{t['agrees_with_rampart']:>8}/{n}")
    for t in tools:
        print(f"  {t['name']}: {t['results']}")


if __name__ == "__main__":
    main()
