#!/usr/bin/env bash
# Captures a real hoplink sctp link on loopback with tshark and checks the packets with Wireshark's SCTP
# dissector: the handshake, data and shutdown chunks are there, nothing is malformed, every CRC32c is good,
# every SCTP packet fits in the MTU, and the DATA chunks carry at least the bytes sent.
#
#   sctp_capture_test.sh HOPLINK [BYTES]                  the whole test (default 4 MiB through one link)
#   sctp_capture_test.sh --analyse CAPTURE PORT BYTES [MTU]   only the checks, on an existing capture
#
# KEEP=1 keeps the temporary directory (capture, logs) for a look afterwards.
# Exit status: 0 pass, 1 a check failed, 77 tshark is missing (ctest SKIP_RETURN_CODE).
# Needs tshark (capturing on lo: root or CAP_NET_RAW) and python3. Uses only 127.0.0.1 and ports the kernel
# picks (bind to port 0), so it never collides with another test.
set -euo pipefail

# shellcheck source=capture_link.sh
. "$(dirname "${BASH_SOURCE[0]}")/capture_link.sh"
capture_prelude capture_sctp
DEFAULT_MTU=1200

# Counts the packets of a capture that match a display filter ($1 capture, $2 port, $3 filter).
count_matching() {
  local n
  n=$(timeout 60 tshark -n -r "$1" -d "udp.port==$2,sctp" -o "sctp.checksum:CRC 32c" -Y "$3" \
        -T fields -e frame.number 2>/dev/null | wc -l) || return 1
  echo "$n"
}

# The checks. $1 capture (as tshark wrote it), $2 the link's UDP port, $3 bytes sent, $4 MTU.
# Prints a summary; returns 1 after printing every failed check.
analyse() {
  local cap=$1 port=$2 bytes=$3 mtu=${4:-$DEFAULT_MTU}
  local work failures=() gso_line split udp_total sctp_total good bad malformed
  work=$(mktemp -d "${TMPDIR:-/tmp}/capture_sctp_analyse.XXXXXX")
  # shellcheck disable=SC2064  # expand now: the trap must remove this call's directory
  trap "rm -rf '$work'; trap - RETURN" RETURN
  split="$work/datagrams.pcap"

  # One IPv4/UDP packet per SCTP datagram: GSO sends appear on lo as one UDP packet carrying several.
  gso_line=$(timeout 60 tshark -n -r "$cap" -Y "udp.port==$port" -T fields -E separator=/t \
               -e frame.time_epoch -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e udp.payload \
               2>"$work/tshark.err" | timeout 60 python3 "$TOOL" split "$mtu" "$split") \
    || { cat "$work/tshark.err" >&2; echo "capture_sctp: FAIL: cannot read $cap" >&2; return 1; }

  # Chunk types and lengths, one line per chunk (every chunk has exactly one of each).
  timeout 60 tshark -n -r "$split" -d "udp.port==$port,sctp" -o "sctp.checksum:CRC 32c" \
    -T fields -E occurrence=a -E aggregator=/s -e frame.number -e udp.length -e sctp.chunk_type \
    -e sctp.chunk_length 2>/dev/null >"$work/fields.txt"

  local summary
  summary=$(awk -F'\t' '
    { udp++; payload = $2 - 8; if (payload > maxp) maxp = payload
      if ($3 != "") sctp++
      nt = split($3, t, " "); nl = split($4, l, " ")
      if (nt != nl) mismatch++
      for (i = 1; i <= nt; i++) {
        c[t[i]]++
        if (t[i] == 0) data += l[i] - 16      # DATA: 16-byte chunk header
        if (t[i] == 64) data += l[i] - 20     # I-DATA: 20-byte chunk header
      } }
    END { printf "udp=%d sctp=%d max_payload=%d data_bytes=%d mismatch=%d", udp, sctp, maxp, data, mismatch
          for (i in c) printf " type%s=%d", i, c[i] }' "$work/fields.txt")

  chunk() { local v; v=$(grep -o "type$1=[0-9]*" <<<"$summary" | cut -d= -f2); echo "${v:-0}"; }
  field() { grep -o "$1=[0-9]*" <<<"$summary" | head -n1 | cut -d= -f2; }

  udp_total=$(field udp)
  sctp_total=$(field sctp)
  good=$(count_matching "$split" "$port" 'sctp.checksum.status == "Good"')
  bad=$(count_matching "$split" "$port" 'sctp.checksum.status == "Bad"')
  malformed=$(count_matching "$split" "$port" '_ws.malformed')

  local name type n
  local -A counts=()
  for name in INIT:1 INIT_ACK:2 COOKIE_ECHO:10 COOKIE_ACK:11 DATA:0 SACK:3 SHUTDOWN:7 SHUTDOWN_ACK:8 \
              SHUTDOWN_COMPLETE:14 ABORT:6; do
    type=${name#*:}
    counts[${name%%:*}]=$(chunk "$type")
  done

  read -r _ gso_supers gso_inside gso_sizes <<<"$gso_line"
  note "capture $cap: $udp_total SCTP datagrams on udp port $port ($gso_supers captured GSO sends split into" \
       "$gso_inside datagrams of segment size $gso_sizes)"
  note "chunks: INIT=${counts[INIT]} INIT_ACK=${counts[INIT_ACK]} COOKIE_ECHO=${counts[COOKIE_ECHO]}" \
       "COOKIE_ACK=${counts[COOKIE_ACK]} DATA=${counts[DATA]} SACK=${counts[SACK]} SHUTDOWN=${counts[SHUTDOWN]}" \
       "SHUTDOWN_ACK=${counts[SHUTDOWN_ACK]} SHUTDOWN_COMPLETE=${counts[SHUTDOWN_COMPLETE]} ABORT=${counts[ABORT]}"
  note "checksums (CRC32c): good=$good bad=$bad; malformed=$malformed; largest UDP payload=$(field max_payload)" \
       "(MTU $mtu); DATA payload bytes=$(field data_bytes) (sent $bytes)"

  [ "${udp_total:-0}" -gt 0 ] || failures+=("no UDP packets on port $port in the capture")
  [ "$sctp_total" = "$udp_total" ] || failures+=("$((udp_total - sctp_total)) UDP packet(s) did not dissect as SCTP")
  [ "$(field mismatch)" = 0 ] || failures+=("chunk type/length fields do not pair up ($(field mismatch) packets)")
  for name in INIT INIT_ACK COOKIE_ECHO COOKIE_ACK DATA SACK SHUTDOWN SHUTDOWN_ACK SHUTDOWN_COMPLETE; do
    [ "${counts[$name]}" -gt 0 ] || failures+=("no $name chunk in the capture")
  done
  [ "${counts[ABORT]}" = 0 ] || failures+=("${counts[ABORT]} ABORT chunk(s): the link did not shut down in order")
  [ "$malformed" = 0 ] || failures+=("$malformed malformed packet(s) (_ws.malformed)")
  [ "$bad" = 0 ] || failures+=("$bad packet(s) with a bad SCTP checksum (sctp.checksum.status == \"Bad\")")
  [ "$good" = "$udp_total" ] || failures+=("only $good of $udp_total packet(s) have a verified good CRC32c")
  [ "$(field max_payload)" -le "$mtu" ] || failures+=("a UDP payload of $(field max_payload) bytes exceeds the MTU $mtu")
  [ "$(field data_bytes)" -ge "$bytes" ] || failures+=("DATA chunks carry $(field data_bytes) bytes, fewer than the $bytes sent")

  if [ "${#failures[@]}" -gt 0 ]; then
    for n in "${failures[@]}"; do echo "capture_sctp: FAIL: $n" >&2; done
    return 1
  fi
  note "all checks passed"
}

if [ "${1:-}" = "--analyse" ]; then
  [ $# -ge 4 ] || die "usage: $0 --analyse CAPTURE PORT BYTES [MTU]"
  analyse "$2" "$3" "$4" "${5:-$DEFAULT_MTU}"
  exit $?
fi

if [ $# -lt 1 ] || [ ! -x "$1" ]; then die "usage: $0 HOPLINK [BYTES] (got '${1:-}')"; fi
HOPLINK=$1
BYTES=${2:-$((4 * 1024 * 1024))}

TRANSPORT=sctp
capture_link

# 7. The checks.
analyse "$DIR/cap.pcapng" "$PORT" "$BYTES" "$DEFAULT_MTU" || { dump_logs; exit 1; }

# 8. Control: the checksum check must catch a corrupted packet. Flip the last byte of the first frame that
# carries DATA, in a copy, and expect the bad-checksum failure.
FRAME=$(timeout 60 tshark -n -r "$DIR/cap.pcapng" -d "udp.port==$PORT,sctp" -Y 'sctp.chunk_type == 0' \
          -T fields -e frame.number 2>/dev/null | head -n1)
[ -n "$FRAME" ] || fail "control: no frame with a DATA chunk to corrupt"
python3 "$TOOL" corrupt "$DIR/cap.pcapng" "$DIR/corrupt.pcapng" "$FRAME"
if CONTROL=$(analyse "$DIR/corrupt.pcapng" "$PORT" "$BYTES" "$DEFAULT_MTU" 2>&1); then
  echo "$CONTROL" >&2
  die "control: a capture with a corrupted packet (frame $FRAME) passed the checks"
fi
grep -q 'bad SCTP checksum' <<<"$CONTROL" || { echo "$CONTROL" >&2; die "control: the corruption was not reported as a bad checksum"; }
# The data is in clear in an sctp capture: this is the dtls capture test's check finding what it looks for.
CLEAR=$(python3 "$TOOL" plaintext "$DIR/cap.pcapng")
[ "$CLEAR" -gt 0 ] || die "control: the data sent was not found in clear in the sctp capture"
note "control: corrupting frame $FRAME is caught ($(grep -o '[0-9]* packet(s) with a bad SCTP checksum' <<<"$CONTROL"))"
note "PASS"
