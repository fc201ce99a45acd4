"""Network namespaces joined by a veth pair, and the processes run inside them, for the tests and benchmarks
that put a DPDK hoplink (net_af_packet on one veth end) opposite a kernel-UDP hoplink.

Python 3 standard library only. Everything created is removed at exit (atexit and SIGINT/SIGTERM/SIGHUP):
the processes this module started (by pid, never by name), then the namespaces (deleting a namespace
deletes its veth end, and with it the pair).
"""

import atexit
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

SKIP = 77  # ctest's SKIP_RETURN_CODE

_PROCS = []
_NAMESPACES = []


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def skip_unless_possible(tools=("ip",)):
    """Exits with 77 (skipped) when this cannot run here: not root, or no `ip netns`."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, veth, af_packet)")
        sys.exit(SKIP)
    for tool in tools:
        if shutil.which(tool) is None:
            print(f"SKIP: {tool} not installed")
            sys.exit(SKIP)
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("SKIP: `ip netns` does not work here")
        sys.exit(SKIP)


def require_tools(tools):
    """Fails (not skips) when a tool the test needs is missing: ./run deps installs them."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.exit(f"FAIL: missing tools {missing}; ./run deps installs them")


def run(argv, check=True, timeout=30):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {out.returncode}: {out.stderr.strip()}")
    return out


def add_namespace(ns):
    """A new network namespace with its loopback up, removed at exit."""
    run(["ip", "netns", "add", ns])
    _NAMESPACES.append(ns)
    run(["ip", "-n", ns, "link", "set", "lo", "up"])


class VethPair:
    """Namespaces <tag>-a and <tag>-b joined by veth <tag>a / <tag>b (names fit IFNAMSIZ). Side a has no IP:
    it is the DPDK side (af_packet), whose address the kernel must not own. Side b gets `ip_b`/24 and its
    tx checksum offload turned off: a veth peer otherwise leaves UDP checksums for a NIC that does not exist,
    which af_packet hands to DPDK as they are (DPDK then rightly drops them), and would also pass GSO
    super-frames; with tx off the kernel checksums and segments in software, as a real NIC's wire shows."""

    def __init__(self, tag, ip_b):
        self.tag = tag
        self.ns_a = f"{tag}-a"
        self.ns_b = f"{tag}-b"
        self.if_a = f"{tag}a"[:15]
        self.if_b = f"{tag}b"[:15]
        self.ip_b = ip_b
        for ns in (self.ns_a, self.ns_b):
            add_namespace(ns)
        run(["ip", "link", "add", self.if_a, "netns", self.ns_a, "type", "veth", "peer", "name", self.if_b,
             "netns", self.ns_b])
        run(["ip", "-n", self.ns_a, "link", "set", self.if_a, "up"])
        run(["ip", "-n", self.ns_b, "addr", "add", f"{ip_b}/24", "dev", self.if_b])
        run(["ip", "-n", self.ns_b, "link", "set", self.if_b, "up"])
        run(["ip", "netns", "exec", self.ns_b, "ethtool", "-K", self.if_b, "tx", "off"])
        self.mac_a = self.mac(self.ns_a, self.if_a)
        self.mac_b = self.mac(self.ns_b, self.if_b)

    @staticmethod
    def mac(ns, ifname):
        out = run(["ip", "-n", ns, "-o", "link", "show", ifname]).stdout
        return re.search(r"link/ether ([0-9a-f:]{17})", out).group(1)

    def forget_neighbours(self):
        run(["ip", "-n", self.ns_b, "neigh", "flush", "all"])

    def neighbour(self, ip):
        """What side b's kernel knows of `ip`: (lladdr, state) or None."""
        out = run(["ip", "-n", self.ns_b, "neigh", "show", ip]).stdout.split()
        if "lladdr" not in out:
            return None
        return out[out.index("lladdr") + 1], out[-1]


def delete_namespaces():
    for ns in reversed(_NAMESPACES):
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    _NAMESPACES.clear()


class Proc:
    """A process started in a namespace (None: this one), its stdout lines in a queue (drained continuously),
    stderr in a file."""

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

    def expect(self, prefix, timeout):
        """The next stdout line starting with `prefix`; RuntimeError at EOF or after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{self.name}: no '{prefix}' line within {timeout} s; {self.describe()}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise RuntimeError(f"{self.name}: exited before '{prefix}'; {self.describe()}")
            if line.startswith(prefix):
                return line

    def status(self):
        """The fields of the last STATUS line with counters (one that has LINKS=)."""
        for line in reversed(list(self.stdout_lines)):
            if line.startswith("STATUS ") and " LINKS=" in line:
                return parse_status(line)
        return {}

    def next_status(self, timeout):
        """The fields of the first STATUS line with counters printed after this call."""
        seen = len(self.stdout_lines)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.stdout_lines)[seen:]:
                if line.startswith("STATUS ") and " LINKS=" in line:
                    return parse_status(line)
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no STATUS line within {timeout} s; {self.describe()}")

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

    def stop(self, timeout=5):
        """SIGTERM (and stdin closed, as tor does), then SIGKILL after `timeout`. Returns the exit status."""
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
        return self.p.returncode


def parse_status(line):
    fields = {}
    for word in line.split()[1:]:
        if "=" in word:
            key, value = word.split("=", 1)
            fields[key] = int(value) if value.isdigit() else value
    return fields


def kill_all():
    for proc in list(_PROCS):
        try:
            if proc.p.poll() is None:
                proc.p.kill()
                proc.p.wait(timeout=3)
        except Exception:  # best effort at exit
            pass
    _PROCS.clear()


def _cleanup():
    kill_all()
    delete_namespaces()


def install_cleanup():
    atexit.register(_cleanup)

    def on_signal(signum, _frame):
        _cleanup()
        sys.exit(128 + signum)

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)


VDEVS = {
    # The kernel still sees every frame (the DPDK side needs an IP the kernel does not own). The PMD joins a
    # PACKET_FANOUT group with PACKET_FANOUT_FLAG_DEFRAG: the kernel holds IP fragments for reassembly and
    # hands over whole datagrams, so fragments never reach DPDK on af_packet.
    "af_packet": ("net_af_packet0", "net_af_packet0,iface={iface}"),
    # XDP sockets: frames reach DPDK before the kernel's IP stack, fragments included.
    "af_xdp": ("net_af_xdp0", "net_af_xdp0,iface={iface},start_queue=0,queue_count=1"),
    # DPDK creates the tap interface `iface`; the kernel of the namespace is the other end of the link. Tap
    # has tx checksum offload and rx interrupts.
    "tap": ("net_tap0", "net_tap0,iface={iface}"),
}


def dpdk_eal(iface, prefix, driver="af_packet"):
    """EAL arguments for hoplink on `driver` over `iface`: no hugepages, no PCI, a file prefix of its own
    (several DPDK processes may run at once), and the main lcore free to run on every CPU rather than pinned
    to CPU 0, where it would fight whatever else is pinned there."""
    cpus = os.cpu_count() or 1
    vdev = VDEVS[driver][1].format(iface=iface)
    return (f"--no-huge -m 256 --no-pci --file-prefix={prefix} --log-level=warning --lcores=0@(0-{cpus - 1}) "
            f"--vdev={vdev}")


def dpdk_args(iface, prefix, address, driver="af_packet", extra=()):
    return ["--io", "dpdk", f"--dpdk-eal={dpdk_eal(iface, prefix, driver)}", "--dpdk-port", VDEVS[driver][0],
            "--dpdk-address", address, *extra]
