#!/usr/bin/env python3
"""Helpers of sctp_capture_test.sh (standard library only).

  capture_tool.py sink HOST PORTFILE RESULTFILE
      TCP sink: listens on HOST:0, writes its port to PORTFILE, accepts one connection, reads to EOF, writes
      "<bytes> <sha256>" to RESULTFILE, closes.
  capture_tool.py send HOST PORT BYTES
      Sends BYTES deterministic pseudo-random bytes, half-closes, waits for EOF from the peer, prints
      "<bytes> <sha256>".
  capture_tool.py split MTU OUT.pcap  < tshark fields (time, ip.src, ip.dst, udp.srcport, udp.dstport,
                                        udp.payload)
      Writes one IPv4/UDP packet per SCTP datagram (LINKTYPE_RAW). A capture on lo sees UDP GSO sends
      (UDP_SEGMENT) before segmentation, as one UDP packet carrying several SCTP packets back to back; this
      splits such a packet (of any length: a run of small
      packets is sent the same way) at its segment size, found from the SCTP structure alone (every segment starts
      with the same ports and verification tag and its chunks end exactly at the segment's end), never
      from the checksums. A packet whose structure does not fit is written unsplit, so the MTU and
      malformed-packet checks report it. Prints "gso <super-packets> <datagrams in them> <sizes>".
  capture_tool.py split-dtls MTU OUT.pcap  < the same fields
      The same for a dtls link: hoplink sends one DTLS record per datagram, so a captured UDP payload with
      several records (a GSO send) is split at the record boundaries (record headers only, RFC 6347 4.1). A
      payload that is not a whole number of records is written unsplit, for the malformed check to report.
  capture_tool.py plaintext CAPTURE
      Prints how many of the first 256 32-byte blocks that `send` sends appear verbatim in the file: some
      when the link carries them in clear (sctp), none when it encrypts them (dtls).
  capture_tool.py corrupt IN.pcapng OUT.pcapng FRAME
      Copies a pcapng capture, flipping the last byte of frame FRAME (1-based).
"""
import hashlib
import os
import socket
import struct
import sys


def pattern_chunks(total):
    """Deterministic pseudo-random data: SHA-256 in counter mode."""
    counter = 0
    sent = 0
    while sent < total:
        block = b"".join(hashlib.sha256(struct.pack(">QI", counter, i)).digest() for i in range(2048))
        counter += 1
        block = block[: total - sent]
        sent += len(block)
        yield block


def cmd_sink(host, portfile, resultfile):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((host, 0))
    listener.listen(1)
    listener.settimeout(90)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(listener.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    conn, _ = listener.accept()
    conn.settimeout(90)
    digest = hashlib.sha256()
    count = 0
    while True:
        data = conn.recv(1 << 16)
        if not data:
            break
        digest.update(data)
        count += len(data)
    conn.close()
    listener.close()
    with open(resultfile + ".tmp", "w") as f:
        f.write(f"{count} {digest.hexdigest()}\n")
    os.rename(resultfile + ".tmp", resultfile)


def cmd_send(host, port, total):
    conn = socket.create_connection((host, int(port)), timeout=90)
    digest = hashlib.sha256()
    for block in pattern_chunks(int(total)):
        conn.sendall(block)
        digest.update(block)
    conn.shutdown(socket.SHUT_WR)
    while conn.recv(1 << 16):
        pass  # the sink sends nothing; wait for its close to come back through the link
    conn.close()
    print(f"{total} {digest.hexdigest()}")


def chunks_end_exactly(segment):
    """True when segment is a common header followed by chunks that end exactly at its end."""
    if len(segment) < 16:
        return False
    offset = 12
    while offset < len(segment):
        if offset + 4 > len(segment):
            return False
        length = struct.unpack_from(">H", segment, offset + 2)[0]
        if length < 4 or offset + length > len(segment):
            return False
        if offset + length == len(segment):
            return True  # last chunk, unpadded or with its padding counted in its length
        offset += (length + 3) & ~3
    return offset == len(segment)


def split_payload(payload, mtu):
    """The SCTP packets of one captured UDP payload (one, or several when it was a GSO send)."""
    if len(payload) < 16 or (len(payload) <= mtu and chunks_end_exactly(payload)):
        return [payload], False  # one SCTP packet (a GSO send of small packets can be under the MTU too)
    header = payload[:8]  # source port, destination port, verification tag
    offset = 12
    while offset + 4 <= len(payload):
        length = struct.unpack_from(">H", payload, offset + 2)[0]
        if length < 4:
            break
        offset += (length + 3) & ~3
        for size in (offset, offset - ((4 - length % 4) % 4)):  # with or without the last chunk's padding
            if size >= len(payload) or size <= 12:
                continue
            segments = [payload[i:i + size] for i in range(0, len(payload), size)]
            if all(s[:8] == header and chunks_end_exactly(s) for s in segments):
                return segments, True
    return [payload], False


def split_dtls_payload(payload, mtu):
    """The DTLS records of one captured UDP payload, each the datagram hoplink sent."""
    records = []
    offset = 0
    while offset + 13 <= len(payload):
        length = struct.unpack_from(">H", payload, offset + 11)[0]
        if offset + 13 + length > len(payload):
            break
        records.append(payload[offset:offset + 13 + length])
        offset += 13 + length
    if offset != len(payload) or len(records) < 2:
        return [payload], False
    return records, True


def ip_checksum(header):
    total = sum(struct.unpack(">10H", header))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def cmd_split(mtu, out, splitter=split_payload):
    mtu = int(mtu)
    supers = 0
    inside = 0
    sizes = set()
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))  # LINKTYPE_RAW
        for line in sys.stdin:
            fields = line.rstrip("\n").split("\t")
            if len(fields) < 6 or not fields[5]:
                continue
            stamp, src, dst, sport, dport, payload_hex = fields[:6]
            payload = bytes.fromhex(payload_hex.replace(":", ""))
            segments, was_split = splitter(payload, mtu)
            if was_split:
                supers += 1
                inside += len(segments)
                sizes.add(len(segments[0]))
            seconds, _, fraction = stamp.partition(".")
            usec = int((fraction + "000000")[:6])
            for segment in segments:
                udp = struct.pack(">HHHH", int(sport), int(dport), 8 + len(segment), 0) + segment
                ip = bytearray(struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                                           socket.inet_aton(src), socket.inet_aton(dst)))
                struct.pack_into(">H", ip, 10, ip_checksum(bytes(ip)))
                packet = bytes(ip) + udp
                f.write(struct.pack("<IIII", int(seconds), usec, len(packet), len(packet)))
                f.write(packet)
    print(f"gso {supers} {inside} {','.join(str(s) for s in sorted(sizes)) or '-'}")


def cmd_plaintext(capture):
    data = open(capture, "rb").read()
    first = next(pattern_chunks(256 * 32))
    print(sum(1 for i in range(0, len(first), 32) if first[i:i + 32] in data))


def cmd_corrupt(src, dst, frame):
    frame = int(frame)
    data = bytearray(open(src, "rb").read())
    if struct.unpack_from("<I", data, 0)[0] != 0x0A0D0D0A:
        sys.exit("corrupt: not a pcapng file")
    endian = "<" if struct.unpack_from("<I", data, 8)[0] == 0x1A2B3C4D else ">"
    offset = 0
    seen = 0
    while offset + 12 <= len(data):
        block_type, block_length = struct.unpack_from(endian + "II", data, offset)
        if block_type in (3, 6):  # simple / enhanced packet block
            seen += 1
            if seen == frame:
                if block_type == 6:
                    captured = struct.unpack_from(endian + "I", data, offset + 20)[0]
                    start = offset + 28
                else:
                    captured = min(struct.unpack_from(endian + "I", data, offset + 8)[0], block_length - 16)
                    start = offset + 12
                data[start + captured - 1] ^= 0xFF
                open(dst, "wb").write(data)
                return
        if block_length < 12:
            break
        offset += block_length
    sys.exit(f"corrupt: no frame {frame}")


def main():
    commands = {"sink": (cmd_sink, 3), "send": (cmd_send, 3), "split": (cmd_split, 2),
                "split-dtls": (lambda mtu, out: cmd_split(mtu, out, split_dtls_payload), 2),
                "plaintext": (cmd_plaintext, 1), "corrupt": (cmd_corrupt, 3)}
    if len(sys.argv) < 2 or sys.argv[1] not in commands or len(sys.argv) != 2 + commands[sys.argv[1]][1]:
        sys.exit(__doc__)
    function, _ = commands[sys.argv[1]]
    function(*sys.argv[2:])


if __name__ == "__main__":
    main()
