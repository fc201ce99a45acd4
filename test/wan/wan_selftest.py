#!/usr/bin/env python3
"""Self-test of wanem (bench/wan/wanem.cpp): each impairment, measured from inside two network namespaces
by the traffic it shapes (probe.py), checked against its own settings with tolerances.

  wan_selftest.py --wanem PATH

  delay     --delay-ms 20 --jitter-ms 2: ping RTT ~ 40 ms; UDP one-way delay >= 18 ms, mean 19..21.5, max 30
            (22 + the receiver's scheduling on a busy machine)
            and jitter never reorders
  loss      --ab-loss 0.1: 4000 datagrams, 10 % +- 2 % lost (4.6 sigma), exactly wanem's count
  bursts    Gilbert-Elliott p=0.01 r=0.2: ~4.8 % lost, in runs of mean length ~ 1/r = 5
  dup/reord --ab-duplicate 0.05 --ab-reorder 0.05: ~5 % duplicates and ~5 % late arrivals at the receiver
  rate      --rate-mbit 40: a TCP bulk transfer reaches 80..102 % of 40 Mbit/s (goodput, after 1 s)
  queue     --rate-mbit 10 --queue-bytes 30000: a burst of 300 datagrams is mostly dropped at the queue, and
            the worst one-way delay stays within delay + queue/rate

Prints `RESULT ok` last and exits 0 on success, 1 on a failed check; 77 (skipped) when not root or without
network namespaces or TUN. Namespaces, TUNs and processes are removed at exit; every wait is bounded.
"""

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "bench" / "wan"))
import wanpath  # noqa: E402
from wanpath import Proc, WanPath  # noqa: E402

PROBE = str(HERE / "probe.py")
PORT = 9000
FAILURES = []


def log(msg):
    wanpath.log(msg, "wan-selftest")


def check(name, ok, detail):
    log(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
    if not ok:
        FAILURES.append(name)


def udp_exchange(path, workdir, count, pps, size=200, idle=1.0):
    """`count` datagrams A -> B; returns the receiver's JSON."""
    recv = Proc("udp-recv", ["python3", PROBE, "udp-recv", "--listen", f"{path.ip_b}:{PORT}", "--idle", idle,
                             "--seconds", 30], ns=path.ns_b, workdir=workdir)
    try:
        recv.expect("LISTEN", 10)
        path.run_in(path.ns_a, ["python3", PROBE, "udp-send", "--to", f"{path.ip_b}:{PORT}", "--count", count,
                                "--pps", pps, "--size", size], timeout=60)
        return json.loads(recv.expect("{", 35))
    finally:
        recv.stop()


def test_delay(wanem, workdir):
    path = WanPath(wanem, workdir, ["--delay-ms", "20", "--jitter-ms", "2"])
    try:
        rtts = wanpath.ping_rtts(path.ns_a, path.ip_b, 20, interval=0.05)
        med = statistics.median(rtts) if rtts else 0
        check("ping RTT = 2 x 20 ms", len(rtts) == 20 and 37 <= med <= 44 and min(rtts) >= 36,
              f"{len(rtts)}/20 replies, median {med:.2f} ms, min {min(rtts, default=0):.2f}, "
              f"max {max(rtts, default=0):.2f}")
        r = udp_exchange(path, workdir, 1000, 1000)
        check("one-way delay 20 +- 2 ms", r["unique"] == 1000 and 18 <= r["delay_min_ms"]
              and 19 <= r["delay_mean_ms"] <= 21.5 and r["delay_max_ms"] <= 30,
              f"{r['unique']}/1000, min {r['delay_min_ms']:.2f} mean {r['delay_mean_ms']:.2f} "
              f"max {r['delay_max_ms']:.2f} ms")
        check("jitter keeps order", r["late"] == 0, f"{r['late']} late")
    finally:
        path.stop()


def test_loss(wanem, workdir):
    path = WanPath(wanem, workdir, ["--ab-loss", "0.1", "--delay-ms", "1"], seed=7)
    try:
        n = 4000
        r = udp_exchange(path, workdir, n, 4000)
        c = path.counters()["ab"]
        lost = n - r["unique"]
        check("random loss 10 % +- 2 %", 0.08 <= lost / n <= 0.12, f"{lost}/{n} = {100 * lost / n:.2f} %")
        check("wanem counted every loss", c["dropped_loss"] == lost,
              f"wanem dropped_loss={c['dropped_loss']}, receiver missed {lost}")
    finally:
        path.stop()


def test_bursts(wanem, workdir):
    path = WanPath(wanem, workdir, ["--ab-ge-p", "0.01", "--ab-ge-r", "0.2", "--delay-ms", "1"], seed=11)
    try:
        n = 10000
        r = udp_exchange(path, workdir, n, 8000, size=100)
        lost = n - r["unique"]
        check("Gilbert-Elliott loss ~ p/(p+r) = 4.8 %", 0.025 <= lost / n <= 0.08,
              f"{lost}/{n} = {100 * lost / n:.2f} %")
        check("bursts of mean length ~ 1/r = 5", 3.5 <= r["mean_loss_run"] <= 7,
              f"{r['loss_runs']} runs, mean {r['mean_loss_run']:.2f}")
    finally:
        path.stop()


def test_dup_reorder(wanem, workdir):
    path = WanPath(wanem, workdir, ["--ab-duplicate", "0.05", "--ab-reorder", "0.05", "--ab-reorder-ms", "5",
                                    "--delay-ms", "2"], seed=3)
    try:
        n = 4000
        r = udp_exchange(path, workdir, n, 2000)
        c = path.counters()["ab"]
        check("duplication 5 % +- 1.5 %", 0.035 <= r["duplicates"] / n <= 0.065 and r["unique"] == n,
              f"{r['duplicates']} duplicates of {n} (wanem: {c['duplicated']}), {r['unique']} unique")
        check("reordering 5 % +- 1.5 %", 0.035 <= r["late"] / n <= 0.065,
              f"{r['late']} late arrivals of {n} (wanem: {c['reordered']} held back)")
    finally:
        path.stop()


def test_rate(wanem, workdir):
    rate = 40
    path = WanPath(wanem, workdir, ["--rate-mbit", rate, "--delay-ms", "5", "--queue-bytes", "100000"])
    try:
        recv = Proc("tcp-recv", ["python3", PROBE, "tcp-recv", "--listen", f"{path.ip_b}:{PORT}", "--seconds",
                                 "4", "--skip", "1"], ns=path.ns_b, workdir=workdir)
        try:
            recv.expect("LISTEN", 10)
            path.run_in(path.ns_a, ["python3", PROBE, "tcp-send", "--to", f"{path.ip_b}:{PORT}", "--seconds",
                                    "6"], check=False, timeout=20)
            r = json.loads(recv.expect("{", 10))
        finally:
            recv.stop()
        c = path.counters()["ab"]
        check(f"TCP goodput at the {rate} Mbit/s bottleneck", 0.8 * rate <= r["mbps"] <= 1.02 * rate,
              f"{r['mbps']:.1f} Mbit/s (queue drops {c['dropped_queue']}, "
              f"mean queueing {c['queue_delay_mean_us'] / 1000:.1f} ms)")
    finally:
        path.stop()


def test_queue(wanem, workdir):
    rate, queue, delay = 10, 30000, 5
    path = WanPath(wanem, workdir, ["--ab-rate-mbit", rate, "--ab-queue-bytes", queue, "--delay-ms", delay])
    try:
        n = 300
        r = udp_exchange(path, workdir, n, 0, size=1000)
        c = path.counters()["ab"]
        bound_ms = delay + queue * 8 / (rate * 1e3) + 2.5  # + one packet's serialization and scheduling
        check("burst beyond the queue is dropped", c["dropped_queue"] >= n // 2 and r["unique"] < n // 2
              and r["unique"] + c["dropped_queue"] == n,
              f"{r['unique']}/{n} delivered, wanem dropped_queue={c['dropped_queue']}")
        check("queueing delay bounded by queue/rate", delay + 15 <= r["delay_max_ms"] <= bound_ms
              and c["queue_delay_max_us"] <= queue * 8 / rate + 100,
              f"max one-way {r['delay_max_ms']:.2f} ms (bound {bound_ms:.1f}), wanem max queueing "
              f"{c['queue_delay_max_us'] / 1000:.2f} ms")
    finally:
        path.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wanem", required=True)
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    wanpath.skip_unless_possible()
    wanpath.install_cleanup()
    workdir = a.workdir or f"/tmp/wan-selftest-{int(time.time())}"
    Path(workdir).mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    for test in (test_delay, test_loss, test_bursts, test_dup_reorder, test_rate, test_queue):
        try:
            test(a.wanem, workdir)
        except (RuntimeError, ValueError, KeyError, OSError) as e:
            check(test.__name__, False, f"error: {e}")
    log(f"{time.monotonic() - start:.1f} s")
    if FAILURES:
        print(f"RESULT fail: {', '.join(FAILURES)}", flush=True)
        return 1
    print("RESULT ok", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
