"""An emulated Internet path between two network namespaces, for bench/run-wan-bench and test/wan/.

  path = WanPath(wanem_binary, workdir, ["--delay-ms", "25", "--rate-mbit", "200", ...])
  path.run_in(path.ns_a, ["ping", "-c", "3", path.ip_b])
  counters = path.stop()      # {"ab": {...}, "ba": {...}}: wanem's counters

Namespaces hlwanA-<pid>-<n> and hlwanB-<pid>-<n>, each holding one TUN of wanem (bench/wan/wanem.cpp), with
the point-to-point addresses 198.18.0.1 (A) and 198.18.0.2 (B): RFC 2544's benchmarking block, which no real
network routes and which exists only inside these two namespaces. Direction "ab" of wanem carries A -> B.

Python 3 standard library only. Everything created is removed at exit (atexit and SIGINT/SIGTERM/SIGHUP):
the processes started here (by pid, never by name), then the namespaces (their TUNs go with wanem).
"""

import atexit
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SKIP = 77  # ctest's SKIP_RETURN_CODE
IP_A, IP_B = "198.18.0.1", "198.18.0.2"

# The paths of bench/run-wan-bench and ./run demo --path: name -> (RTT ms, bottleneck Mbit/s, random loss).
PATHS = {
    "50ms-0": (50, 200, 0.0),
    "50ms-0.1": (50, 200, 0.001),
    "50ms-1": (50, 200, 0.01),
    "150ms-0.1": (150, 50, 0.001),
}

_PROCS = []
_NAMESPACES = []
_COUNTER = [0]


def log(msg, prefix="wan"):
    print(f"[{prefix} {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def skip_unless_possible():
    """Exits 77 (skipped) when this cannot run here: not root, no `ip netns`, no /dev/net/tun."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, TUN devices)")
        sys.exit(SKIP)
    if shutil.which("ip") is None:
        print("SKIP: iproute2 (ip) not installed; ./run deps installs it")
        sys.exit(SKIP)
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIP: `ip netns` does not work here")
        sys.exit(SKIP)
    if not os.path.exists("/dev/net/tun"):
        print("SKIP: no /dev/net/tun")
        sys.exit(SKIP)


def run(argv, check=True, timeout=30):
    out = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, argv))}: exit {out.returncode}: {out.stderr.strip()}")
    return out


class Proc:
    """A process started in a namespace (None: this one) in a session of its own; stdout lines kept (and
    queued for `expect`), stderr in a file."""

    def __init__(self, name, argv, ns=None, workdir="/tmp", env=None):
        self.name = name
        full = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in argv]
        self.stderr_path = Path(workdir) / f"{name}.stderr"
        self.lines = queue.Queue()
        self.stdout_lines = []
        with open(self.stderr_path, "wb") as err:
            self.p = subprocess.Popen(full, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env,
                                      start_new_session=True)
        _PROCS.append(self)
        self.pid = self.p.pid
        threading.Thread(target=self._reader, daemon=True).start()

    def _reader(self):
        for raw in self.p.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            self.stdout_lines.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def next_line(self, deadline):
        """The next stdout line, or None at EOF or at `deadline` (time.monotonic())."""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                return self.lines.get(timeout=left)
            except queue.Empty:
                continue

    def expect(self, prefix, timeout):
        """The next stdout line starting with `prefix`; RuntimeError at EOF or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.next_line(deadline)
            if line is None:
                raise RuntimeError(f"{self.name}: no '{prefix}' line within {timeout} s; {self.describe()}")
            if line.startswith(prefix):
                return line

    def describe(self):
        rc = self.p.poll()
        state = "running" if rc is None else f"exit status {rc}"
        try:
            tail = " | ".join(self.stderr_path.read_text(errors="replace").strip().splitlines()[-3:])
        except OSError:
            tail = ""
        return f"{self.name} {state}" + (f": {tail}" if tail else "")

    def cpu_seconds(self):
        """utime + stime of the process (the program itself: `ip netns exec` execs it in place)."""
        with open(f"/proc/{self.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def signal(self, signum):
        if self.p.poll() is None:
            self.p.send_signal(signum)

    def stop(self, timeout=5):
        """stdin closed (as tor does), SIGTERM, then SIGKILL after `timeout`. Returns the exit status."""
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            self.p.terminate()
            try:
                self.p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=timeout)
        if self in _PROCS:
            _PROCS.remove(self)
        try:  # what it printed, next to its stderr, for whoever keeps the work directory
            self.stderr_path.with_suffix(".stdout").write_text("".join(line + "\n" for line in self.stdout_lines))
        except OSError:
            pass
        return self.p.returncode


def path_args(rtt_ms, rate_mbit, loss):
    """wanem options for a path: RTT/2 each way, the rate both ways, a drop-tail queue of one BDP, random
    loss both ways."""
    queue = int(rate_mbit * 1e6 * rtt_ms / 1e3 / 8)
    return ["--delay-ms", rtt_ms / 2, "--rate-mbit", rate_mbit, "--queue-bytes", queue, "--loss", loss]


def add_namespace(ns):
    run(["ip", "netns", "add", ns])
    _NAMESPACES.append(ns)
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


def delete_namespace(ns):
    subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    if ns in _NAMESPACES:
        _NAMESPACES.remove(ns)


class WanPath:
    """Two namespaces joined by wanem with `wanem_args` (its impairment options)."""

    def __init__(self, wanem, workdir, wanem_args, seed=1):
        _COUNTER[0] += 1
        tag = f"{os.getpid()}-{_COUNTER[0]}"
        self.ns_a, self.ns_b = f"hlwanA-{tag}", f"hlwanB-{tag}"
        self.tun_a, self.tun_b = "wanA", "wanB"
        self.ip_a, self.ip_b = IP_A, IP_B
        self.workdir = Path(workdir)
        self.stats_path = self.workdir / f"wanem-{tag}.json"
        self.wanem = None
        try:
            add_namespace(self.ns_a)
            add_namespace(self.ns_b)
            self.wanem = Proc(f"wanem-{tag}", [wanem, "--tun-a", self.tun_a, "--ns-a", self.ns_a, "--tun-b",
                                                self.tun_b, "--ns-b", self.ns_b, "--seed", seed, "--stats-json",
                                                self.stats_path, *wanem_args], workdir=workdir)
            self.wanem.expect("READY", 10)
            for ns, dev, me, peer in ((self.ns_a, self.tun_a, self.ip_a, self.ip_b),
                                      (self.ns_b, self.tun_b, self.ip_b, self.ip_a)):
                run(["ip", "-n", ns, "addr", "add", me, "peer", f"{peer}/32", "dev", dev])
                run(["ip", "-n", ns, "link", "set", dev, "up", "txqueuelen", "10000"])
        except BaseException:
            self.close()
            raise

    def run_in(self, ns, argv, check=True, timeout=30):
        return run(["ip", "netns", "exec", ns, *argv], check=check, timeout=timeout)

    def set_tcp_cc(self, cc):
        """Kernel TCP congestion control `cc` on the routes between A and B, in both namespaces."""
        for ns, dev, me, peer in ((self.ns_a, self.tun_a, self.ip_a, self.ip_b),
                                  (self.ns_b, self.tun_b, self.ip_b, self.ip_a)):
            run(["ip", "-n", ns, "route", "replace", f"{peer}/32", "dev", dev, "src", me, "congctl", cc])

    def counters(self):
        """wanem's counters now (SIGUSR1 makes it rewrite the JSON file)."""
        before = self.stats_path.stat().st_mtime_ns if self.stats_path.exists() else 0
        self.wanem.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if self.stats_path.exists() and self.stats_path.stat().st_mtime_ns != before:
                try:
                    return json.loads(self.stats_path.read_text())
                except ValueError:
                    pass  # caught between write and rename; try again
            time.sleep(0.02)
        raise RuntimeError(f"wanem wrote no counters; {self.wanem.describe()}")

    def stop(self):
        """Stops wanem (its TUNs vanish) and removes the namespaces; returns wanem's final counters."""
        counters = None
        if self.wanem is not None:
            self.wanem.stop()
            try:
                counters = json.loads(self.stats_path.read_text())
            except (OSError, ValueError):
                counters = None
        self.close()
        return counters

    def close(self):
        if self.wanem is not None:
            self.wanem.stop()
        for ns in (self.ns_b, self.ns_a):
            delete_namespace(ns)


def tcp_cc_available(cc):
    """Whether the kernel offers TCP congestion control `cc` (loading its module if it can)."""
    try:
        avail = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
    except OSError:
        return False
    if cc in avail:
        return True
    if shutil.which("modprobe"):
        subprocess.run(["modprobe", f"tcp_{cc}"], capture_output=True)
        avail = Path("/proc/sys/net/ipv4/tcp_available_congestion_control").read_text().split()
    return cc in avail


def ping_rtts(ns, target, count, interval=0.2, size=56, timeout=None):
    """RTTs in ms of `count` pings from namespace `ns` (lost ones left out)."""
    timeout = timeout or count * interval + 10
    out = run(["ip", "netns", "exec", ns, "ping", "-n", "-c", count, "-i", interval, "-s",
               size, "-W", "2", target], check=False, timeout=timeout).stdout
    rtts = []
    for line in out.splitlines():
        if "time=" in line:
            rtts.append(float(line.split("time=")[1].split()[0]))
    return rtts


def kill_all():
    for proc in list(_PROCS):
        try:
            if proc.p.poll() is None:
                proc.p.kill()
                proc.p.wait(timeout=3)
        except Exception:  # best effort at exit
            pass
    _PROCS.clear()


def cleanup():
    kill_all()
    for ns in list(reversed(_NAMESPACES)):
        delete_namespace(ns)


def install_cleanup():
    atexit.register(cleanup)

    def on_signal(signum, _frame):
        cleanup()
        sys.exit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
