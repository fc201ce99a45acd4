# Sourced by the capture tests (sctp_capture_test.sh, dtls_capture_test.sh).
#
# capture_prelude NAME: die() and note() prefixed with NAME, HERE/TOOL/HOST, and exit 77 (ctest skip) without
# tshark.
# capture_link: one real hoplink link of $TRANSPORT on loopback, captured with tshark. The caller sets
# HOPLINK, TRANSPORT and BYTES. Afterwards DIR is the temporary directory (removed at exit unless KEEP=1), PORT
# the link's UDP port, FP the dtls fingerprint (empty for sctp), $DIR/cap.pcapng the capture, and fail() dumps
# the logs before dying. Uses only 127.0.0.1 and ports the kernel picks.

capture_prelude() {
  CAPTURE_NAME=$1
  HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  TOOL="$HERE/capture_tool.py"
  HOST=127.0.0.1
  die() { echo "$CAPTURE_NAME: FAIL: $*" >&2; exit 1; }
  note() { echo "$CAPTURE_NAME: $*"; }
  if ! command -v tshark >/dev/null 2>&1; then
    echo "$CAPTURE_NAME: SKIP: tshark is not installed (apt-get install tshark)" >&2
    exit 77
  fi
  command -v python3 >/dev/null 2>&1 || die "python3 is not installed"
}

PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -n "${KEEP:-}" ] || rm -rf "$DIR"
}

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

capture_link() {
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/capture_$TRANSPORT.XXXXXX")
  trap cleanup EXIT
  trap 'exit 1' INT TERM HUP
  # 1. The TCP sink (the "ORPort"), on a port the kernel picks.
  timeout 100 python3 "$TOOL" sink "$HOST" "$DIR/sink.port" "$DIR/sink.result" >"$DIR/sink.log" 2>&1 &
  PIDS+=($!)
  wait_for_line "$DIR/sink.port" '^[0-9]+$' 10 || fail "the TCP sink did not start"
  SINK_PORT=$(cat "$DIR/sink.port")

  # 2. The hoplink server on a kernel-picked UDP port; its SMETHOD line tells which.
  timeout 100 "$HOPLINK" server --transport "$TRANSPORT" --listen "$HOST:0" --orport "$HOST:$SINK_PORT" \
    --status-interval 0 \
    >"$DIR/server.log" 2>&1 &
  PIDS+=($!)
  wait_for_line "$DIR/server.log" '^SMETHODS DONE' 10 || fail "hoplink server did not print SMETHODS DONE"
  PORT=$(sed -n "s/^SMETHOD $TRANSPORT $HOST:\([0-9]*\).*/\1/p" "$DIR/server.log" | head -n1)
  [ -n "$PORT" ] || fail "no 'SMETHOD $TRANSPORT $HOST:PORT' line from hoplink server"
  # dtls: the bridge's certificate fingerprint, which the client pins (--fp, as fp= in a bridge line).
  FP=$(sed -n "s/^SMETHOD $TRANSPORT .*ARGS:.*fp=\([0-9a-f]*\).*/\1/p" "$DIR/server.log" | head -n1)

  # 3. tshark on lo, capturing only the link's port; wait until it is capturing.
  timeout 100 tshark -n -i lo -f "udp port $PORT" -w "$DIR/cap.pcapng" >"$DIR/tshark.log" 2>&1 &
  TSHARK_PID=$!
  PIDS+=("$TSHARK_PID")
  wait_for_line "$DIR/tshark.log" 'Capturing on|Capture started' 20 \
    || fail "tshark did not start capturing on lo (needs root or CAP_NET_RAW)"
  wait_for_line "$DIR/tshark.log" 'Capture started' 2 || true  # tshark 4.x prints it once dumpcap runs
  sleep 0.5

  # 4. The hoplink client, forwarding TCP connections to the server.
  timeout 100 "$HOPLINK" client --transport "$TRANSPORT" --listen "$HOST:0" --remote "$HOST:$PORT" \
    ${FP:+--fp "$FP"} --status-interval 0 \
    >"$DIR/client.log" 2>&1 &
  PIDS+=($!)
  wait_for_line "$DIR/client.log" '^CMETHODS DONE' 10 || fail "hoplink client did not print CMETHODS DONE"
  CLIENT_PORT=$(sed -n "s/^CMETHOD $TRANSPORT socks5 $HOST:\([0-9]*\).*/\1/p" "$DIR/client.log" | head -n1)
  [ -n "$CLIENT_PORT" ] || fail "no 'CMETHOD $TRANSPORT socks5 $HOST:PORT' line from hoplink client"

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
}
