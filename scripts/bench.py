#!/usr/bin/env python3
"""The performance suite of coopd, side by side with the Go ttrpc reference in the same run.

Runs (each case REPS times, interleaved so machine noise hits both servers alike):
  1. ../shared/bench/bench.py: Echo through Go's load generator against Go ttrpc and coopd (calls/s, CPU/call, RSS).
  2. coop-bench Echo 64 B, 1 conn x 64 in flight, against Go's ttrpc-echo-server and coopd.
  3. coop-bench against coopd on the shipped data: ListObservations VN->JP page of 20 (8 in flight; with the
     response cache, and without it), durable writes (8 conns x 8 in flight), with coopd's CPU per call.
  4. coopd RSS idle, under the 64-in-flight load, and READY=1 time after exec on an existing database.
Writes a markdown table to $BENCH_OUT/coopd-<stamp>.md and prints it.

Usage: scripts/bench.py [--reps 3] [--dur 5] [--skip-anchor]
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


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
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
    def __init__(self, argv, sock, env=None):
        self.sock = sock
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        wait_socket(sock)

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


def go_best_calls(table):
    """The best median calls/s of the Go reference's 64-byte cases in the anchor table (None if absent)."""
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


def med(values):
    return statistics.median(values) if values else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--dur", type=float, default=5)
    ap.add_argument("--skip-anchor", action="store_true", help="skip ../shared/bench/bench.py")
    a = ap.parse_args()
    coopd, bench = release_bin("coopd"), release_bin("coop-bench")
    go_server = os.path.join(BIN, "ttrpc-echo-server")
    stamp = datetime.datetime.utcnow().strftime("%Y%m%dT%H%M%SZ")
    work = tempfile.mkdtemp(prefix="coopd-bench-")
    state = os.path.join(work, "state")
    lines = [f"# coopd performance suite {stamp}", "",
             f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, kernel {os.uname().release}; reps {a.reps} x {a.dur} s, medians", ""]

    if not a.skip_anchor:
        anchor = subprocess.run(
            [sys.executable, os.path.join(SHARED, "bench", "bench.py"), "--only", "ttrpc", "--reps", str(a.reps),
             "--dur", str(a.dur), "--cases", "c64-64B$|c1-64B-cpu0|c16-4KiB",
             "--server", f"coopd={coopd} --socket {{sock}} --state-directory {state}",
             "--target", "coop.v1.Diagnostics/Echo"], capture_output=True, text=True)
        lines += ["## Echo through Go's load generator (../shared/bench/bench.py)", ""]
        table = [l for l in anchor.stdout.splitlines() if l.startswith("|")]
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
        lines += [f"coopd with coop-bench / Go's best 64 B case with its own load generator ({go_best:,.0f} calls/s): "
                  f"{med([r['calls_per_s'] for r in ours]) / go_best:.2f}x"]
    lines += [""]

    lines += ["## coopd on the shipped data", "",
              "| case | calls/s | p50 µs | p99 µs | server CPU µs/call |", "|---|---|---|---|---|"]
    for label, args, extra in (
            ("ListObservations VN→JP, page 20, 8 in flight", ["--workload", "query", "-c", "8"], []),
            ("the same, response cache off", ["--workload", "query", "-c", "8"], ["--response-cache-mib", "0"]),
            ("AddObservations (durable), 8 conns x 8 in flight", ["--workload", "write", "--conns", "8", "-c", "8"], [])):
        rs = []
        for _ in range(a.reps):
            fresh = os.path.join(work, "fresh")
            shutil.rmtree(fresh, ignore_errors=True)
            s = Server([coopd, "--socket", sock, "--state-directory", fresh] + extra, sock)
            rs.append(measured(s, bench, args, a.dur)); s.stop()
        lines.append(f"| {label} | {med([r['calls_per_s'] for r in rs]):,.0f} | {med([r['p50_us'] for r in rs]):.0f} | "
                     f"{med([r['p99_us'] for r in rs]):.0f} | {med([r['cpu_us_per_call'] for r in rs]):.1f} |")

    s = Server([coopd, "--socket", sock, "--state-directory", state], sock)
    time.sleep(1)
    idle = rss_kib(s.proc.pid)
    s.stop()
    ready = med([ready_time(coopd, state, sock) for _ in range(a.reps)])
    lines += ["", f"coopd RSS idle {idle:,} KiB; under Echo c=64 {med([r['rss_kib'] for r in ours]):,.0f} KiB; "
              f"READY=1 {ready * 1000:.0f} ms after exec on an existing database", ""]

    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, f"coopd-{stamp}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {path}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
