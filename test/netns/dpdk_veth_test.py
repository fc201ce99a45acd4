#!/usr/bin/env python3
"""DPDK across a wire: hoplink on DPDK net_af_packet in one network namespace, hoplink on kernel UDP in
another, joined by a veth pair.

  dpdk_veth_test.py --hoplink PATH [--mib 100] [--timeout 240]

1. DPDK bridge side (hoplink server on net_af_packet, 10.99.0.1, an address the kernel of its namespace
   does not own) and kernel client side (hoplink client, 10.99.0.2): the kernel's `ping` is answered and
   its ARP entry for 10.99.0.1 holds the DPDK port's MAC; --mib MiB go each way over one link with every
   byte checked, while malformed frames (frames.py: bad checksums, truncated, fragments, bad IHL, wrong
   version, ...) are written on the wire from the peer namespace, during the transfer (the link does not
   notice) and again once idle (each counted exactly under its reason in the DPDK STATUS counters; under
   load the wire itself drops some frames, injected or not). Fragments are the exception on af_packet: the
   kernel keeps them for reassembly before DPDK sees anything (netns.VDEVS), so 0 is expected there.
2. Roles swapped: a DPDK client resolves the kernel server by ARP itself and moves --client-mib each way.
   Then the dtls transport with the bridge on DPDK, --client-mib each way.
3. Phase 1 again on net_af_xdp, where frames reach DPDK before the kernel: fragments counted too.
4. net_tap with rx interrupts (tap offers them, and checksum offload): two transfers with an idle pause
   between them, the second waking the port from its interrupt wait (DPDK_RX_INTERRUPT_WAKEUPS).

Prints `RESULT ok` last and exits 0 on success; exits 77 (skipped) only when not root or without `ip netns`.
Every process and namespace it creates is removed at exit; every wait is bounded.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import frames  # noqa: E402
import netns  # noqa: E402
from netns import Proc, log  # noqa: E402

DPDK_IP, KERNEL_IP, PORT = "10.99.0.1", "10.99.0.2", 4433
MIB = 1 << 20


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)
    log(f"ok: {what}")


def pump_pair(server_ns, client_ns, connect_to_proc, nbytes, timeout, workdir, tag, on_started=None):
    """A byte_pump server in `server_ns` (returned first, so its address can be wired) and, once
    `connect_to_proc(listen_address)` gives the address to connect to, a client in `client_ns`."""
    python = sys.executable
    server = Proc(f"{tag}-pump-server", [python, HERE / "byte_pump.py", "server", "--listen", "127.0.0.1:0",
                                         "--timeout", timeout], ns=server_ns, workdir=workdir)
    listen = server.expect("LISTEN ", 10).split()[1]
    target = connect_to_proc(listen)
    client = Proc(f"{tag}-pump-client", [python, HERE / "byte_pump.py", "client", "--connect", target, "--bytes",
                                         nbytes, "--timeout", timeout], ns=client_ns, workdir=workdir)
    if on_started:
        on_started(client)
    results = []
    for proc in (client, server):
        line = proc.expect("RESULT ", timeout + 10)
        results.append(netns.parse_status(line))
        log(f"{proc.name}: {line}")
        proc.stop()
    return results


def finish(results, mib, kernel_side, dpdk_side):
    """Checks both pumps' results, stops both hoplinks and returns the DPDK one's last STATUS fields."""
    for r in results:
        check(r.get("ok") == 1 and r.get("received") == mib * MIB,
              f"{mib} MiB arrived intact in {r.get('seconds')} s ({r})")
    kernel_side.stop()
    check(dpdk_side.stop() == 0, f"{dpdk_side.name} exits cleanly on SIGTERM")
    status = dpdk_side.status()
    log(f"{dpdk_side.name} STATUS (non-zero DPDK counters): " +
        " ".join(f"{k}={v}" for k, v in status.items() if k.startswith("DPDK_") and v))
    return status


def phase_dpdk_server(a, pair, workdir, driver, mib):
    log(f"DPDK server (net_{driver}) <- kernel UDP client, {mib} MiB each way")
    pair.forget_neighbours()  # every phase starts with ARP to do on both sides
    nbytes = mib * MIB
    procs = {}

    def start_hoplinks(orport):
        procs["server"] = Proc("dpdk-server", [a.hoplink, "server", "--listen", f"0.0.0.0:{PORT}", "--orport",
                                               orport, "--status-interval", "1",
                                               *netns.dpdk_args(pair.if_a, f"{pair.tag}s", f"{DPDK_IP}/24", driver)],
                               ns=pair.ns_a, workdir=workdir)
        line = procs["server"].expect("SMETHOD ", 30)
        check(line.split()[2] == f"{DPDK_IP}:{PORT}", f"the DPDK server serves {DPDK_IP}:{PORT} ({line})")
        ping = subprocess.run(["ip", "netns", "exec", pair.ns_b, "ping", "-c", "3", "-i", "0.2", "-W", "2", DPDK_IP],
                              capture_output=True, text=True, timeout=20)
        check(ping.returncode == 0 and " 0% packet loss" in ping.stdout,
              f"the kernel's ping of {DPDK_IP} is answered: {ping.stdout.strip().splitlines()[-2:]}")
        neighbour = pair.neighbour(DPDK_IP)
        check(neighbour is not None and neighbour[0] == pair.mac_a,
              f"the peer kernel resolved {DPDK_IP} by ARP to the DPDK port's MAC {pair.mac_a} ({neighbour})")
        procs["client"] = Proc("udp-client", [a.hoplink, "client", "--listen", "127.0.0.1:0", "--remote",
                                              f"{DPDK_IP}:{PORT}", "--status-interval", "1"],
                               ns=pair.ns_b, workdir=workdir)
        return procs["client"].expect("CMETHOD ", 10).split()[3]

    def inject(client=None):
        if client is not None:
            time.sleep(0.3)  # into the transfer (100 MiB take about 2 s here)
        out = subprocess.run(["ip", "netns", "exec", pair.ns_b, sys.executable, HERE / "frames.py", "--iface",
                              pair.if_b, "--dst-mac", pair.mac_a, "--src-mac", pair.mac_b, "--dst-ip", DPDK_IP,
                              "--src-ip", KERNEL_IP, "--dst-port", str(PORT), "--copies", str(a.copies)],
                             capture_output=True, text=True, timeout=20)
        if out.returncode != 0:
            raise Failure(f"frames.py: {out.stderr.strip()}")
        when = "idle" if client is None else "during the transfer" if client.p.poll() is None else "after it"
        log(f"malformed frames written from {pair.ns_b} ({when}): {len(frames.KINDS)} kinds x {a.copies}")

    results = pump_pair(pair.ns_a, pair.ns_b, start_hoplinks, nbytes, a.transfer_timeout, workdir, driver, inject)
    # Under load the wire drops frames (the af_packet ring, the veth backlog), the injected ones as much as
    # the link's (which SCTP resends): the exact count is taken from a second batch written while idle.
    before = procs["server"].next_status(5)
    inject()
    procs["server"].next_status(5)
    after = procs["server"].next_status(5)
    status = finish(results, mib, procs["client"], procs["server"])
    check(status.get("DPDK_ARP_REQUESTS_IN", 0) >= 1 and status.get("DPDK_ARP_REPLIES_OUT", 0) >= 1,
          "ARP requests for our address were answered")
    check(status.get("DPDK_ICMP_ECHO_ANSWERED", 0) >= 3, "the echo requests were answered")
    for counter, kinds in frames.EXPECTED.items():
        expected = a.copies * len(kinds)
        if counter == "DPDK_DROP_FRAGMENT" and driver == "af_packet":
            expected = 0  # the kernel holds them for reassembly (PACKET_FANOUT_FLAG_DEFRAG): see netns.VDEVS
        during = before.get(counter, 0)
        check(after.get(counter, 0) - during == expected and during <= expected,
              f"{counter}: {expected} of the idle batch ({'+'.join(kinds)}), {during} of the batch written "
              f"during the transfer")
    check(status.get("BYTES_TO_PEER", 0) >= nbytes and status.get("BYTES_FROM_PEER", 0) >= nbytes,
          "the link's byte counters saw the transfer")


def phase_dpdk_client(a, pair, workdir):
    log(f"DPDK client (net_af_packet) -> kernel UDP server, {a.client_mib} MiB each way")
    pair.forget_neighbours()
    nbytes = a.client_mib * MIB
    procs = {}

    def start_hoplinks(orport):
        procs["server"] = Proc("udp-server", [a.hoplink, "server", "--listen", f"{KERNEL_IP}:{PORT}", "--orport",
                                              orport], ns=pair.ns_b, workdir=workdir)
        procs["server"].expect("SMETHOD ", 10)
        procs["client"] = Proc("dpdk-client", [a.hoplink, "client", "--listen", "127.0.0.1:0", "--remote",
                                               f"{KERNEL_IP}:{PORT}", "--status-interval", "1",
                                               *netns.dpdk_args(pair.if_a, f"{pair.tag}c", f"{DPDK_IP}/24")],
                               ns=pair.ns_a, workdir=workdir)
        return procs["client"].expect("CMETHOD ", 30).split()[3]

    results = pump_pair(pair.ns_b, pair.ns_a, start_hoplinks, nbytes, a.transfer_timeout, workdir, "client")
    status = finish(results, a.client_mib, procs["server"], procs["client"])
    check(status.get("DPDK_ARP_REQUESTS_OUT", 0) >= 1 and status.get("DPDK_ARP_REPLIES_IN", 0) >= 1,
          "the DPDK client resolved the kernel server by ARP")
    check(status.get("DPDK_DROP_BAD_UDP_CHECKSUM", 0) == 0 and status.get("DPDK_DROP_BAD_IP_CHECKSUM", 0) == 0,
          "no frame of the kernel peer failed a checksum")


def phase_dtls(a, pair, workdir):
    """The dtls transport with the bridge on DPDK: cookie exchange, handshake and records all cross the DPDK
    interface; the bytes must arrive as they do over sctp."""
    log(f"dtls: DPDK server (net_af_packet) <- kernel UDP client, {a.client_mib} MiB each way")
    pair.forget_neighbours()
    nbytes = a.client_mib * MIB
    procs = {}

    def start_hoplinks(orport):
        procs["server"] = Proc("dtls-dpdk-server", [a.hoplink, "server", "--transport", "dtls", "--listen",
                                                    f"0.0.0.0:{PORT}", "--orport", orport, "--status-interval", "1",
                                                    *netns.dpdk_args(pair.if_a, f"{pair.tag}d", f"{DPDK_IP}/24")],
                               ns=pair.ns_a, workdir=workdir)
        line = procs["server"].expect("SMETHOD ", 30)
        fields = line.split()
        fp = fields[3].split("fp=", 1)[1] if len(fields) > 3 and "fp=" in fields[3] else ""
        check(fields[2] == f"{DPDK_IP}:{PORT}" and len(fp) == 64, f"the DPDK dtls server serves with fp= ({line})")
        procs["client"] = Proc("dtls-udp-client", [a.hoplink, "client", "--transport", "dtls", "--listen",
                                                   "127.0.0.1:0", "--remote", f"{DPDK_IP}:{PORT}", "--fp", fp],
                               ns=pair.ns_b, workdir=workdir)
        return procs["client"].expect("CMETHOD ", 10).split()[3]

    results = pump_pair(pair.ns_a, pair.ns_b, start_hoplinks, nbytes, a.transfer_timeout, workdir, "dtls")
    status = finish(results, a.client_mib, procs["client"], procs["server"])
    check(status.get("DTLS_HANDSHAKES_OK", 0) >= 1 and status.get("DTLS_COOKIES_SENT", 0) >= 1,
          "the DPDK bridge answered with a cookie, then completed the DTLS handshake")


def phase_tap(a, tag, workdir):
    """net_tap with rx interrupts: the kernel of the same namespace is the peer, through the tap interface
    DPDK creates. Idle between two transfers, the port sleeps on its rx interrupt (1 s timer fallback) and
    the second transfer wakes it."""
    log(f"DPDK server (net_tap, rx interrupts) <- kernel UDP client through the tap, {a.xdp_mib} MiB each way, "
        "twice with an idle pause")
    ns, iface, dpdk_ip, kernel_ip = f"{tag}-t", f"{tag}t", "192.0.2.10", "192.0.2.1"
    netns.add_namespace(ns)
    nbytes = a.xdp_mib * MIB
    python = sys.executable
    pump = Proc("tap-pump-server", [python, HERE / "byte_pump.py", "server", "--listen", "127.0.0.1:0",
                                    "--connections", "2", "--timeout", a.transfer_timeout], ns=ns, workdir=workdir)
    orport = pump.expect("LISTEN ", 10).split()[1]
    server = Proc("tap-dpdk-server", [a.hoplink, "server", "--listen", f"0.0.0.0:{PORT}", "--orport", orport,
                                      "--status-interval", "1",
                                      *netns.dpdk_args(iface, f"{tag}t", f"{dpdk_ip}/24", "tap",
                                                       ["--dpdk-rx-interrupts", "--dpdk-idle-sleep", "1000000"])],
                  ns=ns, workdir=workdir)
    line = server.expect("LOG ", 30)
    check("tx offloaded" in line and "idle: rx interrupts" in line,
          f"tap offers tx checksum offload and rx interrupts ({line})")
    server.expect("SMETHODS DONE", 10)
    netns.run(["ip", "-n", ns, "addr", "add", f"{kernel_ip}/24", "dev", iface])
    netns.run(["ip", "-n", ns, "link", "set", iface, "up"])
    client = Proc("tap-udp-client", [a.hoplink, "client", "--listen", "127.0.0.1:0", "--remote",
                                     f"{dpdk_ip}:{PORT}"], ns=ns, workdir=workdir)
    listen = client.expect("CMETHOD ", 10).split()[3]
    results = []
    for round in (1, 2):
        load = Proc(f"tap-pump-client{round}", [python, HERE / "byte_pump.py", "client", "--connect", listen,
                                                "--bytes", nbytes, "--timeout", a.transfer_timeout],
                    ns=ns, workdir=workdir)
        results.append(netns.parse_status(load.expect("RESULT ", a.transfer_timeout + 10)))
        load.stop()
        if round == 1:
            before = server.next_status(5).get("DPDK_RX_INTERRUPT_WAKEUPS", 0)
            time.sleep(1.5)  # idle: the port sleeps on its interrupt
    pump.stop()
    status = finish(results, a.xdp_mib, client, server)
    check(status.get("DPDK_RX_INTERRUPT_WAKEUPS", 0) > before,
          f"idle waits ended by the rx interrupt: {before} before the pause, "
          f"{status.get('DPDK_RX_INTERRUPT_WAKEUPS')} at the end")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hoplink", required=True)
    ap.add_argument("--mib", type=int, default=100, help="MiB each way in phase 1 (af_packet)")
    ap.add_argument("--client-mib", type=int, default=20, help="MiB each way in phase 2")
    ap.add_argument("--xdp-mib", type=int, default=20, help="MiB each way in phases 3 (af_xdp) and 4 (tap)")
    ap.add_argument("--copies", type=int, default=5, help="copies of each malformed frame")
    ap.add_argument("--transfer-timeout", type=int, default=90)
    a = ap.parse_args()
    a.hoplink = os.path.abspath(a.hoplink)
    netns.skip_unless_possible()
    netns.require_tools(["ethtool", "ping"])
    netns.install_cleanup()
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"hoplink-netns-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        pair = netns.VethPair(f"hl{os.getpid() % 100000}", KERNEL_IP)
        log(f"namespaces {pair.ns_a} ({pair.if_a} {pair.mac_a}, DPDK {DPDK_IP}) and {pair.ns_b} "
            f"({pair.if_b} {pair.mac_b}, kernel {KERNEL_IP})")
        phase_dpdk_server(a, pair, workdir, "af_packet", a.mib)
        phase_dpdk_client(a, pair, workdir)
        phase_dtls(a, pair, workdir)
        phase_dpdk_server(a, pair, workdir, "af_xdp", a.xdp_mib)
        phase_tap(a, pair.tag, workdir)
    except (Failure, RuntimeError, subprocess.TimeoutExpired) as e:
        print(f"RESULT fail {e}", flush=True)
        for path in sorted(workdir.glob("*.stderr")):
            tail = path.read_text(errors="replace").strip().splitlines()[-5:]
            if tail:
                print(f"--- {path.name}:\n" + "\n".join(tail))
        print(f"(logs kept in {workdir})")
        sys.exit(1)
    shutil.rmtree(workdir, ignore_errors=True)
    print("RESULT ok", flush=True)


if __name__ == "__main__":
    main()
