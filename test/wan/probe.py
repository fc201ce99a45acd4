#!/usr/bin/env python3
"""Traffic for the wanem self-test, run inside the test's namespaces (`ip netns exec`).

  probe.py udp-recv --listen IP:PORT [--idle 1.0] [--seconds 20]
  probe.py udp-send --to IP:PORT --count N [--pps R] [--size B]      (--pps 0: as fast as possible)
  probe.py tcp-recv --listen IP:PORT --seconds S [--skip S0]
  probe.py tcp-send --to IP:PORT --seconds S

UDP datagrams carry (sequence u32, send time u64 ns of CLOCK_MONOTONIC): every namespace shares the one
monotonic clock, so the receiver measures one-way delay directly. udp-recv prints one JSON line when idle
for --idle s after the first datagram (or at --seconds): received, unique, duplicates, late (first copies
that arrive after a higher sequence), lost runs (lengths of gaps in the sequence), one-way delay stats in ms.
tcp-recv prints JSON with the goodput between --skip and --seconds after the first byte.
Every loop is bounded in time.
"""

import argparse
import json
import socket
import statistics
import struct
import sys
import time

FMT = "!IQ"


def addr(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def udp_recv(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(addr(a.listen))
    print(f"LISTEN {a.listen}", flush=True)
    deadline = time.monotonic() + a.seconds
    seen, delays = set(), []
    received = duplicates = late = 0
    top = -1
    first = None
    while time.monotonic() < deadline:
        s.settimeout(a.idle if first is not None else max(0.01, deadline - time.monotonic()))
        try:
            data = s.recv(65536)
        except socket.timeout:
            if first is not None:
                break
            continue
        now = time.monotonic_ns()
        first = first or now
        seq, sent = struct.unpack_from(FMT, data)
        received += 1
        if seq in seen:
            duplicates += 1
            continue
        seen.add(seq)
        delays.append((now - sent) / 1e6)
        if seq < top:
            late += 1
        top = max(top, seq)
    runs, run = [], 0
    for seq in range(top + 1):
        if seq in seen:
            if run:
                runs.append(run)
            run = 0
        else:
            run += 1
    out = {"received": received, "unique": len(seen), "duplicates": duplicates, "late": late, "top": top,
           "lost": top + 1 - len(seen), "loss_runs": len(runs),
           "mean_loss_run": statistics.mean(runs) if runs else 0}
    if delays:
        out.update(delay_min_ms=min(delays), delay_mean_ms=statistics.mean(delays),
                   delay_median_ms=statistics.median(delays), delay_max_ms=max(delays))
    print(json.dumps(out), flush=True)


def udp_send(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
    to = addr(a.to)
    pad = b"\0" * max(0, a.size - struct.calcsize(FMT))
    start = time.monotonic()
    for seq in range(a.count):
        if a.pps:
            wait = start + seq / a.pps - time.monotonic()
            if wait > 0:
                time.sleep(wait)
        s.sendto(struct.pack(FMT, seq, time.monotonic_ns()) + pad, to)
    print(json.dumps({"sent": a.count, "seconds": time.monotonic() - start}), flush=True)


def tcp_recv(a):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(addr(a.listen))
    srv.listen(1)
    srv.settimeout(10)
    print(f"LISTEN {a.listen}", flush=True)
    conn, _ = srv.accept()
    conn.settimeout(2)
    buf = bytearray(1 << 20)
    total = counted = 0
    first = None
    while True:
        try:
            n = conn.recv_into(buf)
        except socket.timeout:
            break
        if n == 0:
            break
        now = time.monotonic()
        first = first or now
        if now - first >= a.seconds:
            break
        total += n
        if now - first >= a.skip:
            counted += n
    window = a.seconds - a.skip
    print(json.dumps({"bytes": total, "mbps": counted * 8 / window / 1e6}), flush=True)


def tcp_send(a):
    s = socket.create_connection(addr(a.to), timeout=10)
    chunk = b"x" * (256 << 10)
    end = time.monotonic() + a.seconds
    sent = 0
    try:
        while time.monotonic() < end:
            sent += s.send(chunk)
    except OSError:
        pass  # the receiver closes at the end of its window
    print(json.dumps({"sent": sent}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("udp-recv")
    p.add_argument("--listen", required=True)
    p.add_argument("--idle", type=float, default=1.0)
    p.add_argument("--seconds", type=float, default=20)
    p = sub.add_parser("udp-send")
    p.add_argument("--to", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--pps", type=float, default=1000)
    p.add_argument("--size", type=int, default=200)
    p = sub.add_parser("tcp-recv")
    p.add_argument("--listen", required=True)
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--skip", type=float, default=1.0)
    p = sub.add_parser("tcp-send")
    p.add_argument("--to", required=True)
    p.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args()
    {"udp-recv": udp_recv, "udp-send": udp_send, "tcp-recv": tcp_recv, "tcp-send": tcp_send}[a.cmd](a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
