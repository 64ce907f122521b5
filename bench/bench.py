#!/usr/bin/env python3
"""Measures `rampart ingest` against its raw ceiling over a synthetic corpus (run by bench/run).

Standard library only. bench/run builds first and passes --build-dir and --gen; run this by hand
only against an existing Release build. See bench/README.md for what is measured and why.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RSS_GOAL_MIB = 64  # peak RSS goal for one huge report (MiB = 2^20 bytes)
MB = 1_000_000  # XML sizes and rates are in 10^6 bytes, as the generator counts them


# ---- small helpers ------------------------------------------------------------------------------

def env_default(name: str, fallback):
    value = os.environ.get(name)
    return fallback if value in (None, "") else value


def grouped(n: float) -> str:
    return f"{round(n):,}"


def secs(t: float) -> str:
    return f"{t:.3f} s" if t < 10 else f"{t:.2f} s"


def mib(kib: int) -> str:
    return f"{kib / 1024:.1f} MiB"


def say(*parts) -> None:
    print(*parts, flush=True)


class Failures:
    """Mismatches against the manifest: printed at once, and again at the end (exit 1)."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def check(self, what: str, got, want) -> bool:
        if got == want:
            return True
        msg = f"{what}: got {got!r}, manifest says {want!r}"
        self.items.append(msg)
        say(f"  !!! MISMATCH {msg}")
        return False

    def add(self, msg: str) -> None:
        self.items.append(msg)
        say(f"  !!! FAILED {msg}")


@dataclass
class Run:
    wall: float  # seconds, measured around the process
    user: float  # seconds, RUSAGE_CHILDREN delta (the process and what it waited for)
    sys: float
    maxrss_kib: int  # /usr/bin/time -v "Maximum resident set size"
    voluntary_cs: int = 0  # context switches while blocked (I/O, fsync, locks)
    involuntary_cs: int = 0  # preempted: other processes wanted the CPU

    @property
    def cpu(self) -> float:
        return self.user + self.sys


@dataclass
class Series:
    runs: list[Run] = field(default_factory=list)

    def _stat(self, key):
        vals = [key(r) for r in self.runs]
        return min(vals), statistics.median(vals), max(vals)

    @property
    def wall(self):
        return self._stat(lambda r: r.wall)

    @property
    def cpu(self):
        return self._stat(lambda r: r.cpu)

    @property
    def user(self):
        return self._stat(lambda r: r.user)

    @property
    def sys(self):
        return self._stat(lambda r: r.sys)

    @property
    def maxrss_kib(self) -> int:
        return max(r.maxrss_kib for r in self.runs)

    def as_json(self) -> dict:
        return {"runs": [r.__dict__ for r in self.runs],
                "wall": self.wall, "cpu": self.cpu, "maxrss_kib": self.maxrss_kib}


def run_measured(cmd: list[str], *, stdout=subprocess.PIPE,
                 cpu_list: str | None = None) -> tuple[Run, int, str, str]:
    """Runs cmd under /usr/bin/time -v, timing it from outside: wall around the process, user and
    sys from the RUSAGE_CHILDREN delta (microseconds; one child at a time), peak RSS from time's
    report ("Maximum resident set size")."""
    fd, time_file = tempfile.mkstemp(prefix="rampart-bench-time-")
    os.close(fd)
    full = ["/usr/bin/time", "-v", "-o", time_file]
    if cpu_list is not None:
        full += ["taskset", "-c", cpu_list]
    full += cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(full, stdout=stdout, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    fields = {}
    report = Path(time_file).read_text(errors="replace")
    os.unlink(time_file)
    for line in report.splitlines():
        name, _, value = line.strip().rpartition(":")
        if value.strip().isdigit():
            fields[name.strip()] = int(value)
    run = Run(wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime,
              fields.get("Maximum resident set size (kbytes)", 0),
              fields.get("Voluntary context switches", 0),
              fields.get("Involuntary context switches", 0))
    return run, proc.returncode, proc.stdout or "", proc.stderr or ""


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def warm_page_cache(root: Path) -> None:
    for p in sorted(root.rglob("*")):
        if p.is_file():
            with open(p, "rb") as f:
                while f.read(1 << 20):
                    pass


# ---- corpus cache -------------------------------------------------------------------------------

def ensure_corpus(gen: Path, cache_root: Path, gen_args: list[str], label: str) -> Path:
    """Generates once per (generator bytes, arguments); later runs reuse the directory."""
    digest = hashlib.sha256(gen.read_bytes())
    digest.update("\0".join(gen_args).encode())
    key = digest.hexdigest()[:12]
    slug = "".join(c if c.isalnum() or c in "-._" else "_" for c in "_".join(gen_args))[:80]
    target = cache_root / f"{slug}-{key}"
    shown = "gen_aggregate.py " + shlex.join(gen_args)
    if (target / "manifest.json").is_file():
        say(f"{label}: cached {target.relative_to(REPO) if target.is_relative_to(REPO) else target}"
            f"  ({shown})")
        return target
    cache_root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{slug[:40]}-", dir=cache_root))
    say(f"{label}: generating with {shown} ...")
    start = time.perf_counter()
    r = subprocess.run([sys.executable, str(gen), "-o", str(tmp)] + gen_args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0 or not (tmp / "manifest.json").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        sys.exit(f"bench: the generator failed ({r.returncode}):\n{r.stdout}")
    if target.exists():
        shutil.rmtree(target)
    tmp.rename(target)
    said = r.stdout.strip().rsplit(" -> ", 1)[0]
    say(f"{label}: {said} -> {target}  [{time.perf_counter() - start:.1f} s]")
    return target


# ---- the measurements ---------------------------------------------------------------------------

def run_ceiling(args, corpus: Path, failures: Failures, manifest: dict, what: str) -> Run:
    out_json = args.work / "ceiling.json"
    cmd = [str(args.ceiling_bin), "--benchmark_repetitions=1",
           f"--benchmark_out={out_json}", "--benchmark_out_format=json", str(corpus / "reports")]
    run, rc, _, err = run_measured(cmd, stdout=subprocess.DEVNULL, cpu_list=args.pin_ceiling)
    if rc != 0:
        failures.add(f"{what}: bench_ceiling exited {rc}: {err.strip()}")
        return run
    doc = json.loads(out_json.read_text())
    entries = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
    if len(entries) != 1:
        failures.add(f"{what}: bench_ceiling reported {len(entries)} runs")
        return run
    b = entries[0]
    if b.get("error_occurred"):
        failures.add(f"{what}: bench_ceiling: {b.get('error_message')}: {err.strip()}")
    failures.check(f"{what} ceiling: aggregate reports seen", int(b["aggregates"]),
                   manifest["reports"])
    failures.check(f"{what} ceiling: XML bytes parsed", int(b["xml_bytes"]), manifest["xml_bytes"])
    failures.check(f"{what} ceiling: inputs refused", int(b["rejected"]) + int(b["xml_errors"]), 0)
    return run


def fresh_db(args) -> Path:
    db = args.work / "ingest.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def db_bytes(db: Path) -> int:
    return sum(Path(f"{db}{s}").stat().st_size for s in ("", "-wal") if Path(f"{db}{s}").exists())


def run_ingest(args, corpus: Path, failures: Failures, manifest: dict, what: str,
               check_emails: bool) -> tuple[Run, int]:
    db = fresh_db(args)
    cmd = [str(args.rampart_bin), "ingest", "--db", str(db), "--json", str(corpus / "reports")]
    run, rc, out, err = run_measured(cmd)
    size = db_bytes(db)
    if rc != 0:
        failures.add(f"{what}: rampart ingest exited {rc}: {err.strip()[:2000]}")
    try:
        got = json.loads(out)
    except json.JSONDecodeError:
        failures.add(f"{what}: rampart ingest --json printed no JSON: {out[:500]!r} {err[:500]!r}")
        return run, size
    c = failures.check
    c(f"{what}: reports_new", got.get("reports_new"), manifest["unique_reports"])
    c(f"{what}: reports_duplicate", got.get("reports_duplicate"), manifest["duplicates"])
    c(f"{what}: records", got.get("records"), manifest["records"])
    c(f"{what}: messages", got.get("messages"), manifest["messages"])
    c(f"{what}: failure_reports_new", got.get("failure_reports_new"), 0)
    c(f"{what}: inputs", got.get("inputs"), manifest["reports"])
    if check_emails:
        emails = sum(n for k, n in manifest["by_container"].items() if k.startswith("eml"))
        c(f"{what}: emails", got.get("emails"), emails)
    rejected = got.get("files_rejected")
    if rejected:
        failures.add(f"{what}: {len(rejected)} file(s) refused, first: {rejected[0]}")
    check_summary(args, db, failures, manifest, what)
    return run, size


def check_summary(args, db: Path, failures: Failures, manifest: dict, what: str) -> None:
    r = subprocess.run([str(args.rampart_bin), "summary", "--db", str(db), "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        failures.add(f"{what}: rampart summary exited {r.returncode}: {r.stderr.strip()}")
        return
    stored = {d["domain"]: d for d in json.loads(r.stdout)["domains"]}
    want = manifest["domains"]
    failures.check(f"{what}: summary domains", sorted(stored), sorted(want))
    bad = []
    for name, totals in sorted(want.items()):
        got = stored.get(name)
        if got is None:
            continue
        for key in ("reports", "records", "messages"):
            if got.get(key) != totals[key]:
                bad.append(f"{name} {key} {got.get(key)} != {totals[key]}")
    if bad:
        failures.add(f"{what}: summary per-domain totals differ from the manifest in "
                     f"{len(bad)} place(s): " + "; ".join(bad[:10]))


def measure(args, corpus: Path, manifest: dict, failures: Failures, what: str,
            reps: int, check_emails: bool) -> tuple[Series, Series, int]:
    """Ceiling and ingest interleaved, so drift in the machine's load hits both alike."""
    warm_page_cache(corpus / "reports")
    ceiling, ingest = Series(), Series()
    size = 0
    for i in range(1, reps + 1):
        c = run_ceiling(args, corpus, failures, manifest, what)
        ceiling.runs.append(c)
        say(f"  {what} #{i} ceiling: wall {secs(c.wall)}  cpu {secs(c.cpu)}  "
            f"rss {mib(c.maxrss_kib)}  ctx switches {c.voluntary_cs} vol / "
            f"{c.involuntary_cs} invol")
        g, size = run_ingest(args, corpus, failures, manifest, what, check_emails)
        ingest.runs.append(g)
        say(f"  {what} #{i} ingest:  wall {secs(g.wall)}  cpu {secs(g.cpu)} "
            f"(user {g.user:.2f} + sys {g.sys:.2f})  rss {mib(g.maxrss_kib)}  "
            f"db {size / MB:.1f} MB  ctx switches {g.voluntary_cs} vol / {g.involuntary_cs} invol")
    return ceiling, ingest, size


# ---- output -------------------------------------------------------------------------------------

def describe_rates(series: Series, manifest: dict) -> dict:
    wall = series.wall[1]
    return {"reports_s": manifest["reports"] / wall,
            "records_s": manifest["records_including_duplicates"] / wall,
            "xml_mb_s": manifest["xml_bytes"] / MB / wall}


def triple(t) -> str:
    lo, med, hi = t
    return f"{med:.2f} s [{lo:.2f}–{hi:.2f}]"


def main() -> int:
    p = argparse.ArgumentParser(
        prog="bench/run",
        description="Build Rampart (Release) and measure `rampart ingest` against its raw "
                    "ceiling (unpack + a bare expat pass) on a synthetic corpus, checking every "
                    "total against the generator's manifest.",
        epilog="Environment: RAMPART_GEN (generator path), BENCH_REPORTS, BENCH_RECORDS, "
               "BENCH_SEED, BENCH_REPS, BENCH_HUGE_MB, BENCH_HUGE_REPS, BENCH_GEN_ARGS, BENCH_OUT "
               "give the defaults of the matching options. Exit 0 when every total matched, "
               "1 on a mismatch or a failed run, 2 when the generator is missing.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("-n", "--reports", type=int, default=int(env_default("BENCH_REPORTS", 2000)),
                   help="report files in the corpus")
    p.add_argument("-r", "--records", default=env_default("BENCH_RECORDS", "1-200"),
                   help="records per report, N or MIN-MAX")
    p.add_argument("-s", "--seed", type=int, default=int(env_default("BENCH_SEED", 1)),
                   help="generator seed")
    p.add_argument("--gen-args", default=env_default("BENCH_GEN_ARGS", ""),
                   help="further generator arguments for the corpus, one shell-quoted string")
    p.add_argument("--reps", type=int, default=int(env_default("BENCH_REPS", 3)),
                   help="runs of each measurement (median, min and max are printed); at least 3")
    p.add_argument("--huge-mb", type=float, default=float(env_default("BENCH_HUGE_MB", 200)),
                   help="size of the huge report in MB of XML; 0 skips the huge runs")
    p.add_argument("--huge-reps", type=int, default=None,
                   help="runs of each huge measurement (default: BENCH_HUGE_REPS, else --reps)")
    p.add_argument("--pin-ceiling", metavar="CPU", default=None,
                   help="pin bench_ceiling to this CPU list with taskset (it is single-threaded "
                        "either way)")
    p.add_argument("--keep-db", action="store_true", help="keep the last database in OUT/work/")
    p.add_argument("--out", type=Path, default=Path(env_default("BENCH_OUT", BENCH_DIR / "out")),
                   help="output directory (corpus cache, summary.md, results.json)")
    p.add_argument("--build-dir", type=Path, default=REPO / "build-bench", help=argparse.SUPPRESS)
    p.add_argument("--gen", type=Path,
                   default=Path(env_default("RAMPART_GEN", REPO.parent / "shared/bench/gen_aggregate.py")),
                   help="the corpus generator (env RAMPART_GEN)")
    args = p.parse_args()
    if args.huge_reps is None:
        args.huge_reps = int(env_default("BENCH_HUGE_REPS", args.reps))
    if args.reps < 3:
        p.error("--reps must be at least 3 (a median of fewer runs says little)")
    if args.huge_reps < 1:
        p.error("--huge-reps must be at least 1")
    if not args.gen.is_file():
        print(f"bench: the corpus generator is not at {args.gen}.\n"
              f"bench: set RAMPART_GEN to the path of gen_aggregate.py "
              f"(it lives in shared/bench/ next to the repository).", file=sys.stderr)
        return 2
    args.rampart_bin = args.build_dir / "apps/rampart/rampart"
    args.ceiling_bin = args.build_dir / "bench/bench_ceiling"
    for b in (args.rampart_bin, args.ceiling_bin):
        if not os.access(b, os.X_OK):
            print(f"bench: {b} is missing: build first (bench/run does)", file=sys.stderr)
            return 2
    if not os.access("/usr/bin/time", os.X_OK):
        print("bench: /usr/bin/time is missing (Debian package 'time')", file=sys.stderr)
        return 2
    args.out = args.out.resolve()
    args.work = args.out / "work"
    args.work.mkdir(parents=True, exist_ok=True)
    cache = args.out / "cache"
    failures = Failures()
    started = time.perf_counter()

    # ---- where and on what
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip() or "?"
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    commit += "+dirty" if dirty else ""
    build_type = compiler = "?"
    cache_txt = args.build_dir / "CMakeCache.txt"
    if cache_txt.is_file():
        for line in cache_txt.read_text().splitlines():
            if line.startswith("CMAKE_BUILD_TYPE:"):
                build_type = line.split("=", 1)[1]
            elif line.startswith("CMAKE_CXX_COMPILER:"):
                cxx = line.split("=", 1)[1]
                v = subprocess.run([cxx, "-dumpfullversion"], capture_output=True, text=True)
                compiler = f"{Path(cxx).name} {v.stdout.strip()}"
    cpu_model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ncpu = len(os.sched_getaffinity(0))
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = load_average()
    say(f"== Rampart bench  {when}  commit {commit}  {build_type} {compiler}")
    say(f"   machine: {cpu_model}, {ncpu} CPUs usable, load average {load_start}")

    # ---- corpora
    gen_args = ["-n", str(args.reports), "-r", args.records, "-s", str(args.seed)] + \
        shlex.split(args.gen_args)
    corpus = ensure_corpus(args.gen, cache, gen_args, "corpus")
    manifest = json.loads((corpus / "manifest.json").read_text())
    huge = []
    if args.huge_mb > 0:
        size = f"{args.huge_mb:g}"
        for container in ("xml", "xml.gz"):
            hargs = ["--one-huge-report", size, "-s", str(args.seed), "--huge-container", container]
            d = ensure_corpus(args.gen, cache, hargs, f"huge {container}")
            huge.append((container, d, json.loads((d / "manifest.json").read_text())))

    say(f"   corpus: {manifest['reports']} files ({manifest['unique_reports']} unique, "
        f"{manifest['duplicates']} duplicates), {grouped(manifest['records_including_duplicates'])} "
        f"records, {grouped(manifest['messages_including_duplicates'])} messages, "
        f"{manifest['xml_bytes'] / MB:.1f} MB XML, {manifest['file_bytes'] / MB:.1f} MB on disk")

    # ---- (a) + (b): the corpus
    say(f"\n-- corpus: ceiling (unpack + bare expat, single thread) and `rampart ingest --json` "
        f"into a fresh SQLite file, {args.reps} runs each, interleaved")
    ceiling, ingest, db_size = measure(args, corpus, manifest, failures, "corpus", args.reps, True)

    # ---- (c): the huge report
    huge_results = []
    for container, d, hman in huge:
        say(f"\n-- huge report ({container}, {hman['xml_bytes'] / MB:.0f} MB XML, "
            f"{hman['file_bytes'] / MB:.1f} MB on disk, {grouped(hman['records'])} records): "
            f"{args.huge_reps} run(s) each")
        hc, hi, hsize = measure(args, d, hman, failures, f"huge {container}", args.huge_reps, False)
        huge_results.append((container, hman, hc, hi, hsize))

    if not args.keep_db:
        fresh_db(args)
    load_end = load_average()
    elapsed = time.perf_counter() - started

    # ---- figures
    cr, ir = describe_rates(ceiling, manifest), describe_rates(ingest, manifest)
    wall_ratio = ingest.wall[1] / ceiling.wall[1]
    cpu_ratio = ingest.cpu[1] / ceiling.cpu[1]
    say("\n-- figures (medians; rates over all files of the corpus, duplicates included)")
    for name, s, r in (("ceiling", ceiling, cr), ("ingest", ingest, ir)):
        say(f"  {name:8} wall min/median/max {s.wall[0]:.3f} / {s.wall[1]:.3f} / {s.wall[2]:.3f} s"
            f"   cpu {s.cpu[0]:.3f} / {s.cpu[1]:.3f} / {s.cpu[2]:.3f} s"
            f"   {grouped(r['reports_s'])} reports/s  {grouped(r['records_s'])} records/s  "
            f"{r['xml_mb_s']:.1f} MB/s XML  peak RSS {mib(s.maxrss_kib)}")
    say(f"  ingest/ceiling: wall x{wall_ratio:.2f} (ingest reaches {100 / wall_ratio:.0f}% of the "
        f"ceiling's throughput), cpu x{cpu_ratio:.2f}; ingest uses "
        f"{ingest.cpu[1] / ingest.wall[1]:.2f} cores on average")
    say(f"  database after one ingest: {db_size / MB:.1f} MB")
    for container, hman, hc, hi, hsize in huge_results:
        rss = hi.maxrss_kib
        verdict = "within goal" if rss < RSS_GOAL_MIB * 1024 else "OVER GOAL"
        say(f"  huge {container:6}: ingest wall {hi.wall[1]:.2f} s [{hi.wall[0]:.2f}–{hi.wall[2]:.2f}] "
            f"cpu {hi.cpu[1]:.2f} s, {hman['xml_bytes'] / MB / hi.wall[1]:.1f} MB/s XML, "
            f"wall x{hi.wall[1] / hc.wall[1]:.2f} cpu x{hi.cpu[1] / hc.cpu[1]:.2f} ceiling; peak RSS {mib(rss)} "
            f"(goal < {RSS_GOAL_MIB} MiB: {verdict}); ceiling RSS {mib(hc.maxrss_kib)}")

    # ---- summary block (Markdown)
    gen_shown = "gen_aggregate.py " + shlex.join(gen_args)
    lines = [
        f"### Ingest benchmark ({when}, commit {commit})",
        "",
        f"Corpus: `{gen_shown}`: {manifest['reports']:,} files ({manifest['unique_reports']:,} "
        f"unique reports, {manifest['duplicates']} re-sent), "
        f"{manifest['records_including_duplicates']:,} records, "
        f"{manifest['xml_bytes'] / MB:.1f} MB of XML ({manifest['file_bytes'] / MB:.1f} MB on disk). "
        f"{build_type} build, {compiler}; {cpu_model}, {ncpu} CPUs, load average {load_start} "
        f"at the start. Median of {args.reps} runs, [min–max].",
        "",
        "| run | wall | CPU (user+sys) | reports/s | records/s | MB/s XML | wall × ceiling | CPU × ceiling | peak RSS |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        f"| ceiling: unpack + bare expat, 1 thread | {triple(ceiling.wall)} | {ceiling.cpu[1]:.2f} s "
        f"| {grouped(cr['reports_s'])} | {grouped(cr['records_s'])} | {cr['xml_mb_s']:.1f} "
        f"| 1.00 | 1.00 | {mib(ceiling.maxrss_kib)} |",
        f"| `rampart ingest --json`, fresh SQLite file | {triple(ingest.wall)} | {ingest.cpu[1]:.2f} s "
        f"| {grouped(ir['reports_s'])} | {grouped(ir['records_s'])} | {ir['xml_mb_s']:.1f} "
        f"| {wall_ratio:.2f} | {cpu_ratio:.2f} | {mib(ingest.maxrss_kib)} |",
    ]
    if huge_results:
        lines += [
            "",
            f"| one huge report | on disk | ingest wall | ingest CPU | MB/s XML | wall × ceiling "
            f"| CPU × ceiling | peak RSS (goal < {RSS_GOAL_MIB} MiB) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for container, hman, hc, hi, hsize in huge_results:
            rss = hi.maxrss_kib
            mark = "ok" if rss < RSS_GOAL_MIB * 1024 else "**over**"
            lines.append(
                f"| {hman['xml_bytes'] / MB:.0f} MB XML, {grouped(hman['records'])} records, "
                f"`{container}` | {hman['file_bytes'] / MB:.1f} MB | {triple(hi.wall)} "
                f"| {hi.cpu[1]:.2f} s | {hman['xml_bytes'] / MB / hi.wall[1]:.1f} "
                f"| {hi.wall[1] / hc.wall[1]:.2f} | {hi.cpu[1] / hc.cpu[1]:.2f} | {mib(rss)} {mark} |")
    lines += [
        "",
        ("Stored totals match the manifest exactly (reports new/duplicate, records, messages, "
         "per-domain reports/records/messages)." if not failures.items else
         f"**TOTALS DID NOT MATCH THE MANIFEST ({len(failures.items)} failure(s)): these figures "
         f"are not valid.**"),
    ]
    summary = "\n".join(lines) + "\n"
    (args.out / "summary.md").write_text(summary)
    (args.out / "results.json").write_text(json.dumps({
        "when": when, "commit": commit, "build_type": build_type, "compiler": compiler,
        "cpu": cpu_model, "cpus": ncpu, "load_start": load_start, "load_end": load_end,
        "corpus": {"args": gen_args, "path": str(corpus),
                   **{k: manifest[k] for k in ("reports", "unique_reports", "duplicates",
                                               "records", "messages", "xml_bytes", "file_bytes",
                                               "records_including_duplicates")}},
        "ceiling": ceiling.as_json(), "ingest": ingest.as_json(), "db_bytes": db_size,
        "ratio_wall": wall_ratio, "ratio_cpu": cpu_ratio,
        "huge": [{"container": c, "xml_bytes": m["xml_bytes"], "file_bytes": m["file_bytes"],
                  "ceiling": hc.as_json(), "ingest": hi.as_json(), "db_bytes": hs}
                 for c, m, hc, hi, hs in huge_results],
        "failures": failures.items, "elapsed_s": elapsed,
    }, indent=2) + "\n")

    say("\n-- summary (also in " + str((args.out / "summary.md").relative_to(REPO)
                                       if args.out.is_relative_to(REPO) else args.out / "summary.md")
        + ")\n")
    say(summary)
    say(f"bench: done in {elapsed:.0f} s (load average {load_start} at the start, {load_end} at the end)")
    if failures.items:
        say("\n" + "!" * 78)
        say(f"BENCH FAILED: {len(failures.items)} check(s) against the manifest failed:")
        seen: dict[str, int] = {}
        for f in failures.items:
            seen[f] = seen.get(f, 0) + 1
        for f, n in seen.items():
            say(f"  - {f}" + (f"  (in {n} runs)" if n > 1 else ""))
        say("!" * 78)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
