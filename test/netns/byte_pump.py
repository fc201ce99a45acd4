#!/usr/bin/env python3
"""byte_pump: TCP connections carrying a checked byte pattern each way at once.

  byte_pump.py server --listen IP:PORT [--connections K] [--timeout S]
  byte_pump.py client --connect IP:PORT (--bytes N | --send N --receive M) [--timeout S]

The client opens with 16 bytes: how much it sends, how much it wants back (u64 big-endian each). Then each
side sends its own pattern (client seed 1, server seed 2) while it reads and checks the other's. The
pattern is 1 MiB chunks of seeded random bytes, each starting with its chunk number, so a lost, repeated,
reordered or corrupted chunk is caught. The server prints `LISTEN IP:PORT` when listening and serves K
connections one after the other. Both print `RESULT ok=1|0 sent=N received=N seconds=S` per connection (S:
from the first byte sent to the last received or sent) and exit 0 only when every byte matched.
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


def pump(sock, send_total, total, send_seed, receive_seed, timeout):
    sock.settimeout(timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    send_pattern, receive_pattern = Pattern(send_seed), Pattern(receive_seed)
    error = []

    def sender():
        try:
            sent, index = 0, 0
            while sent < send_total:
                chunk = send_pattern.chunk(index, min(CHUNK, send_total - sent))
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
    thread.join(timeout)
    seconds = time.monotonic() - start
    ok = ok and received == total and not error and not thread.is_alive()
    print(f"RESULT ok={int(ok)} sent={send_total} received={received} seconds={seconds:.3f}"
          + (f" error={error[0].replace(' ', '_')}" if error else ""), flush=True)
    return ok


def receive_exactly(sock, size):
    data = b""
    while len(data) < size:
        more = sock.recv(size - len(data))
        if not more:
            raise OSError("connection closed in the header")
        data += more
    return data


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--listen")
    ap.add_argument("--connect")
    ap.add_argument("--bytes", type=int, help="client: send and receive this many bytes")
    ap.add_argument("--send", type=int, help="client: bytes to send")
    ap.add_argument("--receive", type=int, help="client: bytes to receive")
    ap.add_argument("--connections", type=int, default=1, help="server: connections to serve, one at a time")
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    ok = True
    if a.mode == "server":
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address(a.listen))
        listener.listen(1)
        host, port = listener.getsockname()
        print(f"LISTEN {host}:{port}", flush=True)
        listener.settimeout(a.timeout)
        for _ in range(a.connections):
            sock, _ = listener.accept()
            sock.settimeout(a.timeout)
            header = receive_exactly(sock, 16)
            client_sends, client_receives = int.from_bytes(header[:8], "big"), int.from_bytes(header[8:], "big")
            ok = pump(sock, client_receives, client_sends, 2, 1, a.timeout) and ok
            sock.close()
    else:
        send = a.send if a.send is not None else a.bytes
        receive = a.receive if a.receive is not None else a.bytes
        if send is None or receive is None:
            ap.error("client: --bytes, or --send and --receive")
        sock = socket.create_connection(address(a.connect), timeout=a.timeout)
        sock.sendall(send.to_bytes(8, "big") + receive.to_bytes(8, "big"))
        ok = pump(sock, send, receive, 1, 2, a.timeout)
        sock.close()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
