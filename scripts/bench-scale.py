#!/usr/bin/env python3
"""coopd at growing dataset sizes: the scale table of BENCHMARKS.md (`make bench-scale`, not part of `make test`).

One database grows through the sizes (default 10^4, 10^5, 10^6 synthetic observations beside the shipped data;
`--sizes 1e4,1e5,1e6,1e7` for the full table: about 15 GB of disk and an hour at 10^7). At each size it reports:
  - how fast `coop-bench populate` added the step (through the API, durable),
  - READY=1 after exec on the existing database (median of 3),
  - RSS idle, and peak RSS (VmHWM) after the query mix,
  - the query mix (every call differs, 8 in flight, response cache on): calls/s, p50, p99, cache hit rate,
  - bytes on disk per observation (database and WAL), and the largest tables,
  - `coopd backup` time and size.
Writes a markdown table to $BENCH_OUT/coopd-scale-<stamp>.md and prints it.

Usage: scripts/bench-scale.py [--sizes 1e4,1e5,1e6] [--dur 5] [--keep DIR [--from N]] [--populate-args ARGS]
Needs: release coopd and coop-bench (`swift build -c release`).
"""
import argparse, datetime, os, shutil, sqlite3, subprocess, sys, tempfile, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, coop_bench, med, ready_time, release_bin, rss_kib, write_report  # noqa: E402


def disk(state):
    """Bytes of the database and its WAL, and the five largest tables and indexes (MiB)."""
    path = os.path.join(state, "coop.sqlite")
    total = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        observations = db.execute("SELECT count(*) FROM observations").fetchone()[0]
        try:
            top = db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 5").fetchall()
        except sqlite3.OperationalError:  # SQLite built without dbstat
            top = []
    finally:
        db.close()
    return total, observations, top


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e4,1e5,1e6", help="synthetic observations at each step, comma-separated")
    ap.add_argument("--dur", type=float, default=5, help="seconds of query mix at each size")
    ap.add_argument("--keep", help="grow the database in DIR and keep it (default: a temporary directory)")
    ap.add_argument("--from", dest="have", type=float, default=0,
                    help="synthetic observations the database in --keep DIR/state already holds (to grow it further)")
    ap.add_argument("--populate-args", default="", help="more arguments for coop-bench populate (e.g. --batch 2000)")
    a = ap.parse_args()
    sizes = [int(float(x)) for x in a.sizes.split(",")]
    coopd, bench = release_bin("coopd"), release_bin("coop-bench")
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    work = a.keep or tempfile.mkdtemp(prefix="coopd-scale-")
    state = os.path.join(work, "state")
    sock = os.path.join(work, "s.sock")
    os.makedirs(state, exist_ok=True)
    argv = [coopd, "--socket", sock, "--state-directory", state]
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    lines = [f"# coopd at scale {stamp}", "",
             f"host: {os.uname().nodename}, {os.cpu_count()} CPUs ({cpu}), kernel {os.uname().release}; "
             f"query mix {a.dur} s, 8 in flight, response cache on", "",
             "| synthetic observations | populate obs/s | READY ms | RSS idle MiB | RSS peak MiB | query mix calls/s "
             "| p50 µs | p99 µs | cache hit rate | bytes/observation | backup s | backup MiB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    details = []
    have = int(a.have)
    for size in sizes:
        s = Server(argv, sock, timeout=600)
        rate = 0.0
        if size > have:
            start = time.monotonic()
            subprocess.run([bench, "populate", str(size - have), "--start", str(have), "--socket", sock]
                           + a.populate_args.split(), check=True, stdout=subprocess.DEVNULL)
            rate = (size - have) / (time.monotonic() - start)
            have = size
        s.stop()
        ready = med([ready_time(coopd, state, sock) for _ in range(3)])
        s = Server(argv, sock, timeout=600)
        time.sleep(5)  # idle: after the start-up pages are given back (see scripts/bench.py)
        idle = rss_kib(s.proc.pid)
        mix = coop_bench(bench, sock, ["--workload", "query-mix", "-c", "8"], a.dur)
        peak = rss_kib(s.proc.pid, "VmHWM")
        s.stop()
        total, observations, top = disk(state)
        backup = os.path.join(work, "backup.sqlite")
        start = time.monotonic()
        subprocess.run([coopd, "backup", backup, "--state-directory", state], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        backup_s = time.monotonic() - start
        backup_size = os.path.getsize(backup)
        os.remove(backup)
        lines.append(
            f"| {size:,} | {rate:,.0f} | {ready * 1000:.0f} | {idle / 1024:.1f} | {peak / 1024:.1f} | "
            f"{mix['calls_per_s']:,.0f} | {mix['p50_us']:.0f} | {mix['p99_us']:.0f} | "
            f"{mix.get('cache_hit_rate', 0) * 100:.1f} % | {total / observations:,.0f} | {backup_s:.2f} | "
            f"{backup_size / 2**20:,.0f} |")
        details.append(f"- {size:,}: {observations:,} observations in all, {total / 2**20:,.0f} MiB; largest: "
                       + ", ".join(f"{name} {pages / 2**20:,.0f} MiB" for name, pages in top))
        print(lines[-1], flush=True)
    lines += ["", "On disk, by table and index:", ""] + details + [""]
    write_report(lines, f"coopd-scale-{stamp}.md")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
