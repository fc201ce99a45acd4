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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOOL="$HERE/capture_tool.py"
HOST=127.0.0.1
DEFAULT_MTU=1200

die() { echo "capture_sctp: FAIL: $*" >&2; exit 1; }
note() { echo "capture_sctp: $*"; }

if ! command -v tshark >/dev/null 2>&1; then
  echo "capture_sctp: SKIP: tshark is not installed (apt-get install tshark)" >&2
  exit 77
fi
command -v python3 >/dev/null 2>&1 || die "python3 is not installed"

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

DIR=$(mktemp -d "${TMPDIR:-/tmp}/capture_sctp.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Waits (up to $3 seconds) until file $1 has a line matching the regex $2.
wait_for_line() {
  local deadline=$((SECONDS + $3))
  until grep -Eq "$2" "$1" 2>/dev/null; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}
dump_logs() {
  local f
  for f in "$DIR"/*.log; do echo "--- $(basename "$f")" >&2; tail -n 20 "$f" >&2; done
}
fail() { dump_logs; die "$*"; }

# 1. The TCP sink (the "ORPort"), on a port the kernel picks.
timeout 100 python3 "$TOOL" sink "$HOST" "$DIR/sink.port" "$DIR/sink.result" >"$DIR/sink.log" 2>&1 &
PIDS+=($!)
wait_for_line "$DIR/sink.port" '^[0-9]+$' 10 || fail "the TCP sink did not start"
SINK_PORT=$(cat "$DIR/sink.port")

# 2. The hoplink server on a kernel-picked UDP port; its SMETHOD line tells which.
timeout 100 "$HOPLINK" server --listen "$HOST:0" --orport "$HOST:$SINK_PORT" --status-interval 0 \
  >"$DIR/server.log" 2>&1 &
PIDS+=($!)
wait_for_line "$DIR/server.log" '^SMETHODS DONE' 10 || fail "hoplink server did not print SMETHODS DONE"
PORT=$(sed -n "s/^SMETHOD sctp $HOST:\([0-9]*\).*/\1/p" "$DIR/server.log" | head -n1)
[ -n "$PORT" ] || fail "no 'SMETHOD sctp $HOST:PORT' line from hoplink server"

# 3. tshark on lo, capturing only the link's port; wait until it is capturing.
timeout 100 tshark -n -i lo -f "udp port $PORT" -w "$DIR/cap.pcapng" >"$DIR/tshark.log" 2>&1 &
TSHARK_PID=$!
PIDS+=("$TSHARK_PID")
wait_for_line "$DIR/tshark.log" 'Capturing on|Capture started' 20 \
  || fail "tshark did not start capturing on lo (needs root or CAP_NET_RAW)"
wait_for_line "$DIR/tshark.log" 'Capture started' 2 || true  # tshark 4.x prints it once dumpcap runs
sleep 0.5

# 4. The hoplink client, forwarding TCP connections to the server.
timeout 100 "$HOPLINK" client --listen "$HOST:0" --remote "$HOST:$PORT" --status-interval 0 \
  >"$DIR/client.log" 2>&1 &
PIDS+=($!)
wait_for_line "$DIR/client.log" '^CMETHODS DONE' 10 || fail "hoplink client did not print CMETHODS DONE"
CLIENT_PORT=$(sed -n "s/^CMETHOD sctp socks5 $HOST:\([0-9]*\).*/\1/p" "$DIR/client.log" | head -n1)
[ -n "$CLIENT_PORT" ] || fail "no 'CMETHOD sctp socks5 $HOST:PORT' line from hoplink client"

# 5. One link: BYTES through it, half-close, wait for the close to come back (orderly SCTP shutdown).
SENT=$(timeout 60 python3 "$TOOL" send "$HOST" "$CLIENT_PORT" "$BYTES" 2>"$DIR/send.log") \
  || fail "the transfer through the link failed or timed out"
wait_for_line "$DIR/sink.result" '^[0-9]+ ' 10 || fail "the TCP sink did not finish"
RECEIVED=$(cat "$DIR/sink.result")
[ "$SENT" = "$RECEIVED" ] || fail "sink received '$RECEIVED', expected '$SENT' (bytes sha256)"
wait_for_line "$DIR/client.log" 'EVENT=closed' 10 || fail "hoplink client did not report the link closed"
wait_for_line "$DIR/server.log" 'EVENT=closed' 10 || fail "hoplink server did not report the link closed"
grep -q 'EVENT=closed REASON=orderly' "$DIR/client.log" || fail "client link did not close in order"
grep -q 'EVENT=closed REASON=orderly' "$DIR/server.log" || fail "server link did not close in order"
note "transferred $BYTES bytes over $HOST:$PORT (sha256 ${SENT#* }), link closed in order"

# 6. Stop tshark (SIGTERM through timeout) and let it finish writing the file.
sleep 0.5
kill -TERM "$TSHARK_PID" 2>/dev/null || true
for _ in $(seq 100); do kill -0 "$TSHARK_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$TSHARK_PID" 2>/dev/null && fail "tshark did not stop"
[ -s "$DIR/cap.pcapng" ] || fail "tshark wrote no capture"

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
note "control: corrupting frame $FRAME is caught ($(grep -o '[0-9]* packet(s) with a bad SCTP checksum' <<<"$CONTROL"))"
note "PASS"
