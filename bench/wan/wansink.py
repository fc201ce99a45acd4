#!/usr/bin/env python3
"""The far end of bench/run-wan-bench: bench_load's sink protocol, measured at the sink over a fixed window.

  wansink.py --listen IP:PORT --seconds N

Speaks bench_load's wire protocol (bench/bench_load.cpp): reads the 9-byte header (mode 'B', u64 length),
answers 'R', then counts the bytes it reads. Each connection is measured for N seconds from its 'R' (so the
transport's handshake is not in the figure; slow start is, as a user feels it), then closed, and one line
goes to stdout:

  RESULT conn=K peer=IP:PORT bytes=B seconds=S mbps=M

Prints `LISTEN IP:PORT` first. One thread per connection; a 1 MiB recv_into keeps it far from being the
bottleneck at the rates measured here. Exits on stdin EOF or SIGTERM.
"""

import argparse
import socket
import sys
import threading
import time

HEADER = 9


def serve(conn, peer, k, seconds, lock):
    buf = bytearray(1 << 20)
    view = memoryview(buf)
    try:
        conn.settimeout(30)
        got = 0
        while got < HEADER:
            n = conn.recv_into(view[got:HEADER])
            if n == 0:
                return
            got += n
        conn.sendall(b"R")
        start = time.monotonic()
        end = start + seconds
        total = 0
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            conn.settimeout(min(left, 1.0))
            try:
                n = conn.recv_into(view)
            except socket.timeout:
                continue
            if n == 0:
                break
            total += n
        elapsed = time.monotonic() - start
        with lock:
            print(f"RESULT conn={k} peer={peer[0]}:{peer[1]} bytes={total} seconds={elapsed:.3f} "
                  f"mbps={total * 8 / elapsed / 1e6:.2f}", flush=True)
    except OSError as e:
        with lock:
            print(f"ERROR conn={k} {e}", flush=True)
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    a = ap.parse_args()
    host, port = a.listen.rsplit(":", 1)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, int(port)))
    srv.listen(64)
    print(f"LISTEN {srv.getsockname()[0]}:{srv.getsockname()[1]}", flush=True)
    lock = threading.Lock()

    def acceptor():
        k = 0
        while True:
            conn, peer = srv.accept()
            k += 1
            threading.Thread(target=serve, args=(conn, peer, k, a.seconds, lock), daemon=True).start()

    threading.Thread(target=acceptor, daemon=True).start()
    sys.stdin.read()  # until the orchestrator closes stdin (or kills us)


if __name__ == "__main__":
    main()
