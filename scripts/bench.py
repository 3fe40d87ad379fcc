#!/usr/bin/env python3
"""The performance suite of coopd, side by side with the Go ttrpc reference in the same run.

Runs (each case REPS times, interleaved so machine noise hits both servers alike):
  1. ../shared/bench/bench.py: Echo through Go's load generator against Go ttrpc and coopd (calls/s, CPU/call, RSS).
  2. coop-bench Echo 64 B, 1 conn x 64 in flight, against Go's ttrpc-echo-server and coopd.
  3. coop-bench against coopd on the shipped data: ListObservations VN->JP page of 20 (8 in flight; with the
     response cache, and without it), durable writes (8 conns x 8 in flight), with coopd's CPU per call.
  4. coopd RSS idle, under the 64-in-flight load, and READY=1 time after exec on an existing database.
  5. A slow read beside fast calls: one connection asks query-large (pages of 1,000 rows with every vintage, and
     searches; response cache off, 200,000 synthetic figures), another measures Echo 64 B one call at a time;
     the Echo client's p50/p99 beside the large reads against alone.
  6. The cases of 3 with the store on PostgreSQL (a private server from Debian's packages, fsync on, over its Unix
     socket), beside the same on SQLite, with coopd's and PostgreSQL's CPU per call; and PostgreSQL alone answering
     the same ListObservations question (pgbench, prepared, 8 clients) as the reference.
Writes a markdown table to $BENCH_OUT/coopd-<stamp>.md and prints it.

Usage: scripts/bench.py [--reps 3] [--dur 5] [--skip-anchor] [--skip-postgres] [--only-postgres] [--only-slow-read]
Needs: release coopd and coop-bench (`swift build -c release`), Go anchors ($BENCH_BIN, `make go-peer`).
"""
import argparse, datetime, json, os, shutil, socket, statistics, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.environ.get("BENCH_BIN", "/tmp/ttrpc-anchor-bin")
OUT = os.environ.get("BENCH_OUT", "/tmp/ttrpc-anchor-results")
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))


def release_bin(name):
    path = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    exe = os.path.join(path, name)
    if not os.access(exe, os.X_OK):
        sys.exit(f"{exe} missing: run swift build -c release --product {name}")
    return exe


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    """A process's resident memory now (VmRSS), or its peak (VmHWM), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def wait_socket(path, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            s = socket.socket(socket.AF_UNIX); s.connect(path); s.close(); return
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"nothing accepts on {path}")


class Server:
    def __init__(self, argv, sock, env=None, timeout=30):
        self.sock = sock
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_socket(sock, timeout)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)


def coop_bench(bench, sock, args, dur):
    r = subprocess.run([bench, "--socket", sock, "--duration", str(dur), "--json"] + args, capture_output=True,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError(f"coop-bench failed: {r.stdout} {r.stderr}")
    return json.loads(r.stdout)


def measured(server, bench, args, dur):
    """coop-bench against a running server, with the server's CPU µs per call and peak RSS."""
    cpu0 = cpu_seconds(server.proc.pid)
    result = coop_bench(bench, server.sock, args, dur)
    cpu = cpu_seconds(server.proc.pid) - cpu0
    # warm-up calls are served but not counted: scale by measured share of the window
    result["cpu_us_per_call"] = cpu * 1e6 / max(1, result["calls"] * (dur + 0.5) / dur)
    result["rss_kib"] = rss_kib(server.proc.pid)
    return result


PG_SCRIPT = os.path.join(ROOT, "Tests", "lib", "postgres.sh")


class Postgres:
    """A private PostgreSQL server (Tests/lib/postgres.sh), fsync on, its Unix socket in its directory."""

    def __init__(self, work):
        # Outside the 0700 work directory: the server runs as the postgres user when this runs as root.
        self.base = tempfile.mkdtemp(prefix="coopd-bench-pg-")
        os.chmod(self.base, 0o755)
        self.dir = os.path.join(self.base, "pg")
        subprocess.run(["sh", PG_SCRIPT, "start", self.dir], check=True, env=dict(os.environ, PG_DURABLE="1"))

    def psql(self, sql, database="postgres"):
        return subprocess.run(self.as_owner(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.dir,
                                             "-U", "postgres", "-d", database, "-c", sql]),
                              check=True, capture_output=True, text=True).stdout

    @staticmethod
    def as_owner(argv):
        return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv

    def fresh(self, name):
        self.psql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.psql(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@/{name}?host={self.dir}"

    def cpu_seconds(self):
        """CPU of the postmaster and every process it started (backends, WAL writer, checkpointer)."""
        with open(os.path.join(self.dir, "data", "postmaster.pid")) as f:
            master = int(f.readline())
        total = 0.0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) == master or int(fields[1]) == master:
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self):
        subprocess.run(["sh", PG_SCRIPT, "stop", self.dir], check=False)
        shutil.rmtree(self.base, ignore_errors=True)


def pgbench_listing(pg, database, dur):
    """PostgreSQL alone on coopd's ListObservations VN→JP page of 20 (the statement coopd sends), 8 clients, prepared."""
    sql = os.path.join(pg.dir, "listing.sql")
    with open(sql, "w") as f:
        f.write(LISTING_SQL)
    os.chmod(sql, 0o644)
    r = subprocess.run(pg.as_owner(["pgbench", "-n", "-M", "prepared", "-c", "8", "-j", "2", "-T", str(int(dur)),
                                    "-h", pg.dir, "-U", "postgres", "-f", sql, database]),
                       capture_output=True, text=True, check=True)
    for line in r.stdout.splitlines():
        if line.startswith("tps"):
            return float(line.split("=")[1].split()[0])
    raise RuntimeError(f"pgbench: no tps in {r.stdout}")


def ready_time(coopd, state, sock):
    """Seconds from exec to READY=1 on an existing database."""
    d = tempfile.mkdtemp(prefix="coopd-ready-")
    notify = os.path.join(d, "n.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    listener.bind(notify)
    listener.settimeout(30)
    env = dict(os.environ, NOTIFY_SOCKET=notify)
    start = time.monotonic()
    proc = subprocess.Popen([coopd, "--socket", sock, "--state-directory", state], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if b"READY=1" in listener.recv(4096):
                return time.monotonic() - start
    finally:
        proc.terminate(); proc.wait(timeout=20); listener.close(); shutil.rmtree(d, ignore_errors=True)


LARGE_READ_POPULATION = 200000


def slow_read_beside_echo(coopd, bench, work, a):
    """Echo's latency alone and beside a connection asking large pages (query-large), on one coopd."""
    sock = os.path.join(work, "large.sock")
    state = os.path.join(work, "large")
    shutil.rmtree(state, ignore_errors=True)
    argv = [coopd, "--socket", sock, "--state-directory", state, "--response-cache-mib", "0"]
    s = Server(argv, sock)
    subprocess.run([bench, "populate", str(LARGE_READ_POPULATION), "--socket", sock], check=True,
                   stdout=subprocess.DEVNULL)
    s.stop()
    alone, beside, large = [], [], []
    echo = ["--workload", "echo", "-c", "1"]
    for _ in range(a.reps):
        s = Server(argv, sock)
        alone.append(coop_bench(bench, sock, echo, a.dur))
        load = subprocess.Popen([bench, "--socket", sock, "--workload", "query-large", "-c", "4", "--json",
                                 "--duration", str(a.dur + 2), "--warmup", "0"], stdout=subprocess.PIPE, text=True)
        time.sleep(1)
        beside.append(coop_bench(bench, sock, echo, a.dur))
        large.append(json.loads(load.communicate()[0]))
        s.stop()
    p99_alone, p99_beside = med([r["p99_us"] for r in alone]), med([r["p99_us"] for r in beside])
    return ["## A slow read beside fast calls", "",
            f"coopd, response cache off, {LARGE_READ_POPULATION:,} synthetic figures; one connection runs query-large "
            "(4 in flight: pages of 1,000 rows with every vintage, and searches), another Echo 64 B, 1 in flight.", "",
            "| Echo client | calls/s | p50 µs | p99 µs |", "|---|---|---|---|",
            f"| alone | {med([r['calls_per_s'] for r in alone]):,.0f} | {med([r['p50_us'] for r in alone]):.0f} | "
            f"{p99_alone:.0f} |",
            f"| beside query-large ({med([r['calls_per_s'] for r in large]):,.0f} calls/s, p99 "
            f"{med([r['p99_us'] for r in large]):,.0f} µs) | {med([r['calls_per_s'] for r in beside]):,.0f} | "
            f"{med([r['p50_us'] for r in beside]):.0f} | {p99_beside:.0f} |", "",
            f"Echo p99 beside / alone: {p99_beside / p99_alone:.2f}x (target ≤ 1.5x)", ""]


def rust_server():
    """The Rust ttrpc reference for the anchor run, when built (`make rust-peer`), in its fastest mode here."""
    rust = os.path.join(BIN, "ttrpc-rust-echo-server")
    return ["--server", f"rust={rust} --socket {{sock}} --current-thread"] if os.access(rust, os.X_OK) else []


def go_best_calls(table):
    """The best median calls/s of a reference peer's (Go, Rust) 64-byte cases in the anchor table (None if absent)."""
    best = None
    for row in table:
        cells = [c.strip() for c in row.strip("|").split("|")]
        if len(cells) < 2 or "64B" not in cells[0] or "coopd" in cells[0]:
            continue
        try:
            value = float(cells[1].split()[0].replace(",", ""))
        except ValueError:
            continue
        best = value if best is None else max(best, value)
    return best


# The cases on a store (SQLite's or PostgreSQL's) with the shipped dataset. The query mix runs after `coop-bench
# populate` has added QUERY_MIX_POPULATION synthetic observations.
SHIPPED_DATA_CASES = (
    ("ListObservations VN→JP, page 20, 8 in flight", ["--workload", "query", "-c", "8"], []),
    ("the same, response cache off", ["--workload", "query", "-c", "8"], ["--response-cache-mib", "0"]),
    ("ListObservations query mix (every call differs), 8 in flight", ["--workload", "query-mix", "-c", "8"], []),
    ("AddObservations (durable), 8 conns x 8 in flight", ["--workload", "write", "--conns", "8", "-c", "8"], []),
)
QUERY_MIX_POPULATION = 20000


def prepare(bench, sock, args):
    """What a case needs in the store before it is measured."""
    if "query-mix" in args:
        subprocess.run([bench, "populate", str(QUERY_MIX_POPULATION), "--socket", sock], check=True,
                       stdout=subprocess.DEVNULL)


# coopd's statement for ListObservations VN→JP, page of 20, latest vintage (from PostgreSQL's statement log).
LISTING_SQL = """SELECT o.id, o.indicator, o.origin, o.destination, o.breakdown, o.period_start, o.period_end,
  o.period_from, o.vintage_from, o.value, o.value_high, o.unit_multiplier, o.unit, o.qualifier, o.status, o.source_id,
  o.locator, o.vintage, o.supersedes_id, o.superseded_by_id, o.note, o.retracted, o.retraction_reason,
  o.recorded_sequence, o.conflicts FROM observations o WHERE o.origin = 'VN' AND o.destination = 'JP'
  AND o.breakdown = '' AND o.retracted = 0
  AND NOT EXISTS (SELECT 1 FROM observations r WHERE r.supersedes_id = o.id AND r.retracted = 0)
  AND o.indicator NOT IN (SELECT code FROM indicators WHERE measure = 'claim')
  ORDER BY o.indicator, o.origin, o.destination, o.breakdown, o.period_from, o.vintage_from, o.id LIMIT 21;
"""


def postgres_cases(coopd, bench, work, a):
    """The shipped-data cases on SQLite and on PostgreSQL, interleaved, with both processes' CPU per call."""
    pg = Postgres(work)
    sock = os.path.join(work, "pg.sock")
    lines = ["## The store on PostgreSQL, beside SQLite", "",
             "| case | store | calls/s | p50 µs | p99 µs | coopd CPU µs/call | PostgreSQL CPU µs/call | cache hit rate |",
             "|---|---|---|---|---|---|---|---|"]
    try:
        for label, args, extra in SHIPPED_DATA_CASES:
            results = {"SQLite": [], "PostgreSQL": []}
            for _ in range(a.reps):
                fresh = os.path.join(work, "fresh")
                shutil.rmtree(fresh, ignore_errors=True)
                s = Server([coopd, "--socket", sock, "--state-directory", fresh] + extra, sock)
                prepare(bench, sock, args)
                r = measured(s, bench, args, a.dur); s.stop()
                r["pg_cpu_us_per_call"] = None
                results["SQLite"].append(r)

                url = pg.fresh("bench")
                s = Server([coopd, "--socket", sock, "--state-directory", fresh, "--database", url] + extra, sock,
                           timeout=120)
                prepare(bench, sock, args)
                pg0 = pg.cpu_seconds()
                r = measured(s, bench, args, a.dur)
                r["pg_cpu_us_per_call"] = (pg.cpu_seconds() - pg0) * 1e6 / max(1, r["calls"] * (a.dur + 0.5) / a.dur)
                s.stop()
                results["PostgreSQL"].append(r)
            for store, rs in results.items():
                pg_cpu = "" if store == "SQLite" else f"{med([r['pg_cpu_us_per_call'] for r in rs]):.1f}"
                lines.append(f"| {label} | {store} | {med([r['calls_per_s'] for r in rs]):,.0f} | "
                             f"{med([r['p50_us'] for r in rs]):.0f} | {med([r['p99_us'] for r in rs]):.0f} | "
                             f"{med([r['cpu_us_per_call'] for r in rs]):.1f} | {pg_cpu} | {hit_rate(rs)} |")
            ratio = med([r['calls_per_s'] for r in results["PostgreSQL"]]) / med([r['calls_per_s'] for r in results["SQLite"]])
            lines.append(f"| | PostgreSQL / SQLite | {ratio:.2f}x | | | | | |")
        # PostgreSQL alone, on the seeded database the last case left.
        url = pg.fresh("bench")
        s = Server([coopd, "--socket", sock, "--state-directory", os.path.join(work, "fresh"), "--database", url], sock,
                   timeout=120)
        s.stop()
        tps = med([pgbench_listing(pg, "bench", a.dur) for _ in range(a.reps)])
        lines += ["", f"PostgreSQL alone on the same listing statement (pgbench -M prepared, 8 clients): {tps:,.0f}/s", ""]
    finally:
        pg.stop()
    return lines


def hit_rate(results):
    rates = [r["cache_hit_rate"] for r in results if "cache_hit_rate" in r]
    return f"{med(rates):.1%}" if rates else ""


def write_report(lines, name):
    """Prints the report and keeps it as $BENCH_OUT/name."""
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {path}")


def med(values):
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dur", type=float, default=5)
    ap.add_argument("--skip-anchor", action="store_true", help="skip ../shared/bench/bench.py")
    ap.add_argument("--skip-postgres", action="store_true", help="skip the cases on PostgreSQL")
    ap.add_argument("--only-postgres", action="store_true", help="only the cases on PostgreSQL")
    ap.add_argument("--only-slow-read", action="store_true", help="only the slow read beside Echo")
    a = ap.parse_args()
    coopd, bench = release_bin("coopd"), release_bin("coop-bench")
    go_server = os.path.join(BIN, "ttrpc-echo-server")
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    work = tempfile.mkdtemp(prefix="coopd-bench-")
    state = os.path.join(work, "state")
    lines = [f"# coopd performance suite {stamp}", "",
             f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, kernel {os.uname().release}; reps {a.reps} x {a.dur} s, medians", ""]

    if a.only_slow_read:
        lines += slow_read_beside_echo(coopd, bench, work, a)
    elif not a.only_postgres:
        if not a.skip_anchor:
            anchor = subprocess.run(
                [sys.executable, os.path.join(SHARED, "bench", "bench.py"), "--only", "ttrpc", "--reps", str(a.reps),
                 "--dur", str(a.dur), "--cases", "c64-64B$|c1-64B-cpu0|c16-4KiB",
                 "--server", f"coopd={coopd} --socket {{sock}} --state-directory {state}",
                 "--target", "coopd=coop.v1.Diagnostics/Echo"] + rust_server(), capture_output=True, text=True)
            lines += ["## Echo through Go's load generator (../shared/bench/bench.py)", ""]
            table = [l for l in anchor.stdout.splitlines() if l.startswith("|")]
            if anchor.returncode != 0 or not table:
                # Said in the report, not left as an empty section (a peer or pingpong not built, say).
                reason = (anchor.stderr or anchor.stdout).strip().splitlines()[-1:] or ["no table"]
                lines += [f"not measured: ../shared/bench/bench.py exited {anchor.returncode}: {reason[0]}"]
            lines += table + [""]
            go_best = go_best_calls(table)

        else:
            go_best = None
        sock = os.path.join(work, "s.sock")
        go, ours = [], []
        for _ in range(a.reps):
            s = Server([go_server, "-socket", sock], sock)
            go.append(measured(s, bench, ["--workload", "echo", "--echo-service", "bench.v1.Bench", "-c", "64"], a.dur)); s.stop()
            s = Server([coopd, "--socket", sock, "--state-directory", state], sock)
            ours.append(measured(s, bench, ["--workload", "echo", "-c", "64"], a.dur)); s.stop()
        lines += ["## Echo 64 B, 1 conn x 64 in flight, coop-bench against both", "",
                  "| server | calls/s | p50 µs | p99 µs | server CPU µs/call | RSS KiB |", "|---|---|---|---|---|---|"]
        for name, rs in (("Go ttrpc", go), ("coopd", ours)):
            lines.append(f"| {name} | {med([r['calls_per_s'] for r in rs]):,.0f} | {med([r['p50_us'] for r in rs]):.0f} | "
                         f"{med([r['p99_us'] for r in rs]):.0f} | {med([r['cpu_us_per_call'] for r in rs]):.2f} | "
                         f"{med([r['rss_kib'] for r in rs]):,.0f} |")
        ratio = med([r['calls_per_s'] for r in ours]) / med([r['calls_per_s'] for r in go])
        cpu_ratio = med([r['cpu_us_per_call'] for r in ours]) / med([r['cpu_us_per_call'] for r in go])
        lines += ["", f"coopd / Go: {ratio:.2f}x calls/s, {cpu_ratio:.2f}x server CPU per call"]
        if go_best:
            lines += [f"coopd with coop-bench / the best peer's 64 B case with Go's load generator ({go_best:,.0f} calls/s): "
                      f"{med([r['calls_per_s'] for r in ours]) / go_best:.2f}x"]
        lines += [""]

        lines += ["## coopd on the shipped data", "",
                  "| case | calls/s | p50 µs | p99 µs | server CPU µs/call | cache hit rate |", "|---|---|---|---|---|---|"]
        for label, args, extra in SHIPPED_DATA_CASES:
            rs = []
            for _ in range(a.reps):
                fresh = os.path.join(work, "fresh")
                shutil.rmtree(fresh, ignore_errors=True)
                s = Server([coopd, "--socket", sock, "--state-directory", fresh] + extra, sock)
                prepare(bench, sock, args)
                rs.append(measured(s, bench, args, a.dur)); s.stop()
            lines.append(f"| {label} | {med([r['calls_per_s'] for r in rs]):,.0f} | {med([r['p50_us'] for r in rs]):.0f} | "
                         f"{med([r['p99_us'] for r in rs]):.0f} | {med([r['cpu_us_per_call'] for r in rs]):.1f} | "
                     f"{hit_rate(rs)} |")

        s = Server([coopd, "--socket", sock, "--state-directory", state], sock)
        # Idle: started and not called. coopd gives back its start-up pages at READY and once its services have
        # started (StartupPages, 2 s later); the resident set is flat after that.
        time.sleep(5)
        idle = rss_kib(s.proc.pid)
        s.stop()
        ready = med([ready_time(coopd, state, sock) for _ in range(a.reps)])
        lines += ["", f"coopd RSS idle {idle:,} KiB; under Echo c=64 {med([r['rss_kib'] for r in ours]):,.0f} KiB; "
                  f"READY=1 {ready * 1000:.0f} ms after exec on an existing database", ""]
        lines += slow_read_beside_echo(coopd, bench, work, a)

    if not a.skip_postgres and not a.only_slow_read:
        lines += postgres_cases(coopd, bench, work, a)

    write_report(lines, f"coopd-{stamp}.md")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
