#!/usr/bin/env python3
"""byte_pump: one TCP connection, a checked byte pattern each way at once.

  byte_pump.py server --listen IP:PORT --bytes N [--timeout S]   accepts one connection
  byte_pump.py client --connect IP:PORT --bytes N [--timeout S]

Each side sends N bytes of its own pattern (client seed 1, server seed 2) while it reads and checks N bytes
of the other's. The pattern is 1 MiB chunks of seeded random bytes, each starting with its chunk number, so
a lost, repeated, reordered or corrupted chunk is caught. The server prints `LISTEN IP:PORT` when listening;
both print `RESULT ok=1|0 sent=N received=N seconds=S` (S: from the first byte sent to the last received)
and exit 0 only when every byte matched.
"""

import argparse
import random
import socket
import sys
import threading
import time

CHUNK = 1 << 20


class Pattern:
    def __init__(self, seed):
        self.block = random.Random(seed).randbytes(CHUNK)

    def chunk(self, index, size=CHUNK):
        return (index.to_bytes(8, "big") + self.block[8:])[:size]


def pump(sock, total, send_seed, receive_seed, timeout):
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send_pattern, receive_pattern = Pattern(send_seed), Pattern(receive_seed)
    error = []

    def sender():
        try:
            sent, index = 0, 0
            while sent < total:
                chunk = send_pattern.chunk(index, min(CHUNK, total - sent))
                sock.sendall(chunk)
                sent += len(chunk)
                index += 1
        except OSError as e:
            error.append(f"send: {e}")

    start = time.monotonic()
    thread = threading.Thread(target=sender, daemon=True)
    thread.start()
    received, index, ok = 0, 0, True
    pending = bytearray()
    try:
        while received < total:
            data = sock.recv(CHUNK)
            if not data:
                error.append("connection closed early")
                break
            received += len(data)
            pending += data
            while len(pending) >= CHUNK or (received == total and pending):
                size = min(CHUNK, len(pending))
                if bytes(pending[:size]) != receive_pattern.chunk(index, size):
                    ok = False
                    error.append(f"chunk {index} differs")
                del pending[:size]
                index += 1
    except OSError as e:
        error.append(f"receive: {e}")
    seconds = time.monotonic() - start
    thread.join(timeout)
    ok = ok and received == total and not error
    print(f"RESULT ok={int(ok)} sent={total} received={received} seconds={seconds:.3f}"
          + (f" error={error[0].replace(' ', '_')}" if error else ""), flush=True)
    return ok


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--listen")
    ap.add_argument("--connect")
    ap.add_argument("--bytes", type=int, required=True)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    if a.mode == "server":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address(a.listen))
        listener.listen(1)
        host, port = listener.getsockname()
        print(f"LISTEN {host}:{port}", flush=True)
        listener.settimeout(a.timeout)
        sock, _ = listener.accept()
        ok = pump(sock, a.bytes, 2, 1, a.timeout)
    else:
        sock = socket.create_connection(address(a.connect), timeout=a.timeout)
        ok = pump(sock, a.bytes, 1, 2, a.timeout)
    sock.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
