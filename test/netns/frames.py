#!/usr/bin/env python3
"""Malformed frames for the DPDK backend's validation, written on the wire with a raw AF_PACKET socket.

  frames.py --iface IF --dst-mac MAC --src-mac MAC --dst-ip IP --src-ip IP --dst-port PORT [--copies N]

Run inside the peer's namespace. Sends every kind in KINDS `copies` times and prints one line
`INJECTED kind=N ...`. EXPECTED maps each DPDK STATUS drop counter to the kinds that land in it.
"""

import argparse
import socket
import struct


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def mac_bytes(text):
    return bytes(int(x, 16) for x in text.split(":"))


def ip_bytes(text):
    return socket.inet_aton(text)


class Builder:
    def __init__(self, dst_mac, src_mac, dst_ip, src_ip, dst_port):
        self.dst_mac, self.src_mac = mac_bytes(dst_mac), mac_bytes(src_mac)
        self.dst_ip, self.src_ip = ip_bytes(dst_ip), ip_bytes(src_ip)
        self.dst_port = dst_port

    def ethernet(self, ethertype, payload, src_mac=None):
        return self.dst_mac + (src_mac or self.src_mac) + struct.pack("!H", ethertype) + payload

    def ipv4(self, protocol, payload, *, version=4, ihl=5, flags_offset=0x4000, total_delta=0, src=None,
             bad_checksum=False):
        options = b"\0" * max(0, (ihl - 5) * 4)
        header = struct.pack("!BBHHHBBH4s4s", (version << 4) | ihl, 0, 20 + len(options) + len(payload) + total_delta,
                             0x1234, flags_offset, 64, protocol, 0, src or self.src_ip, self.dst_ip) + options
        value = checksum(header)
        if bad_checksum:
            value ^= 0x5555
        return header[:10] + struct.pack("!H", value) + header[12:] + payload

    def udp(self, payload, *, port=None, length_delta=0, bad_checksum=False, src=None):
        length = 8 + len(payload)
        header = struct.pack("!HHHH", 40000, port or self.dst_port, length + length_delta, 0)
        pseudo = (src or self.src_ip) + self.dst_ip + struct.pack("!BBH", 0, 17, length)
        value = checksum(pseudo + header + payload) or 0xFFFF
        if bad_checksum:
            value = value ^ 0x00FF or 1
        return header[:6] + struct.pack("!H", value) + payload

    def frame(self, kind):
        payload = b"hoplink malformed frame test " * 4
        ipv4, udp, eth = self.ipv4, self.udp, self.ethernet
        if kind == "bad_ip_checksum":
            return eth(0x0800, ipv4(17, udp(payload), bad_checksum=True))
        if kind == "bad_udp_checksum":
            return eth(0x0800, ipv4(17, udp(payload, bad_checksum=True)))
        if kind == "truncated":
            return eth(0x0800, ipv4(17, udp(payload), total_delta=200))
        if kind == "runt":
            return eth(0x0800, ipv4(17, udp(payload))[:12])
        if kind == "bad_ihl":
            return eth(0x0800, ipv4(17, udp(payload), ihl=4))
        if kind == "bad_version":
            return eth(0x0800, ipv4(17, udp(payload), version=6))
        if kind == "udp_length":
            return eth(0x0800, ipv4(17, udp(payload, length_delta=100)))
        if kind == "more_fragments":
            return eth(0x0800, ipv4(17, udp(payload), flags_offset=0x2000))
        if kind == "fragment_offset":
            return eth(0x0800, ipv4(17, payload, flags_offset=0x0010))
        if kind == "protocol":
            return eth(0x0800, ipv4(253, payload))
        if kind == "martian_source":
            loopback = ip_bytes("127.0.0.1")
            return eth(0x0800, ipv4(17, udp(payload, src=loopback), src=loopback))
        if kind == "group_source_mac":
            return eth(0x0800, ipv4(17, udp(payload)), src_mac=b"\x01\x00\x5e\x00\x00\x01")
        if kind == "no_endpoint":
            return eth(0x0800, ipv4(17, udp(payload, port=9)))
        if kind == "bad_icmp":
            icmp = struct.pack("!BBHHH", 8, 0, 0xDEAD, 1, 1) + payload
            return eth(0x0800, ipv4(1, icmp))
        if kind == "bad_arp":
            arp = struct.pack("!HHBBH", 1, 0x0800, 8, 4, 1) + self.src_mac + self.src_ip + b"\0" * 6 + self.dst_ip
            return eth(0x0806, arp + b"\0" * 18)
        raise ValueError(kind)


# STATUS counter -> the kinds it counts.
EXPECTED = {
    "DPDK_DROP_BAD_IP_CHECKSUM": ["bad_ip_checksum"],
    "DPDK_DROP_BAD_UDP_CHECKSUM": ["bad_udp_checksum"],
    "DPDK_DROP_BAD_IP_HEADER": ["truncated", "runt", "bad_ihl", "bad_version"],
    "DPDK_DROP_BAD_UDP_HEADER": ["udp_length"],
    "DPDK_DROP_FRAGMENT": ["more_fragments", "fragment_offset"],
    "DPDK_DROP_PROTOCOL": ["protocol"],
    "DPDK_DROP_BAD_ADDRESS": ["martian_source", "group_source_mac"],
    "DPDK_DROP_NO_ENDPOINT": ["no_endpoint"],
    "DPDK_DROP_BAD_ICMP": ["bad_icmp"],
    "DPDK_DROP_BAD_ARP": ["bad_arp"],
}
KINDS = [kind for kinds in EXPECTED.values() for kind in kinds]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--iface", required=True)
    ap.add_argument("--dst-mac", required=True)
    ap.add_argument("--src-mac", required=True)
    ap.add_argument("--dst-ip", required=True)
    ap.add_argument("--src-ip", required=True)
    ap.add_argument("--dst-port", type=int, required=True)
    ap.add_argument("--copies", type=int, default=5)
    a = ap.parse_args()
    builder = Builder(a.dst_mac, a.src_mac, a.dst_ip, a.src_ip, a.dst_port)
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((a.iface, 0))
    for _ in range(a.copies):
        for kind in KINDS:
            sock.send(builder.frame(kind))
    print("INJECTED " + " ".join(f"{kind}={a.copies}" for kind in KINDS), flush=True)


if __name__ == "__main__":
    main()
