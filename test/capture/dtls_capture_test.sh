#!/usr/bin/env bash
# Captures a real hoplink dtls link on loopback with tshark and checks it with Wireshark's DTLS dissector:
# every datagram on the link's port is DTLS 1.2 (records, handshake and server version 0xfefd, an AEAD suite),
# nothing is malformed, application data carries at least the bytes sent, no datagram exceeds the MTU, and
# no SCTP is visible in clear (the SCTP packets are inside the encrypted records).
#
#   dtls_capture_test.sh HOPLINK [BYTES]                  the whole test (default 4 MiB through one link)
#   dtls_capture_test.sh --analyse CAPTURE PORT BYTES [MTU]   only the checks, on an existing capture
#
# KEEP=1 keeps the temporary directory (capture, logs) for a look afterwards.
# Exit status: 0 pass, 1 a check failed, 77 tshark is missing (ctest SKIP_RETURN_CODE).
set -euo pipefail

# shellcheck source=capture_link.sh
. "$(dirname "${BASH_SOURCE[0]}")/capture_link.sh"
capture_prelude capture_dtls
DEFAULT_MTU=1200

# Counts the frames of a capture matching a display filter, the port decoded as DTLS ($1 capture, $2 port).
count_matching() {
  local n
  n=$(timeout 60 tshark -n -r "$1" -d "udp.port==$2,dtls" -Y "$3" -T fields -e frame.number 2>/dev/null |
        wc -l) || return 1
  echo "$n"
}

# The checks. $1 capture, $2 the link's UDP port, $3 bytes sent, $4 MTU.
analyse() {
  local cap=$1 port=$2 bytes=$3 mtu=${4:-$DEFAULT_MTU}
  local work failures=() split_line split total dtls_frames malformed sctp not12 app_bytes max_payload
  work=$(mktemp -d "${TMPDIR:-/tmp}/capture_dtls_analyse.XXXXXX")
  # shellcheck disable=SC2064  # expand now: the trap must remove this call's directory
  trap "rm -rf '$work'; trap - RETURN" RETURN
  split="$work/datagrams.pcap"

  split_line=$(timeout 60 tshark -n -r "$cap" -Y "udp.port==$port" -T fields -E separator=/t \
                 -e frame.time_epoch -e ip.src -e ip.dst -e udp.srcport -e udp.dstport -e udp.payload \
                 2>"$work/tshark.err" | timeout 60 python3 "$TOOL" split-dtls "$mtu" "$split") \
    || { cat "$work/tshark.err" >&2; echo "capture_dtls: FAIL: cannot read $cap" >&2; return 1; }

  total=$(count_matching "$split" "$port" "udp")
  dtls_frames=$(count_matching "$split" "$port" "dtls")
  malformed=$(count_matching "$split" "$port" "_ws.malformed || _ws.expert.severity == error")
  sctp=$(count_matching "$split" "$port" "sctp")
  # Every record is DTLS 1.2, except the cookie exchange: a first ClientHello's record layer and a
  # HelloVerifyRequest may say 1.0 (RFC 6347 4.1 and 4.2.1).
  not12=$(count_matching "$split" "$port" \
            "dtls.record.version != 0xfefd && !(dtls.handshake.type == 1 || dtls.handshake.type == 3)")
  local hello12 server12 aead appdata
  hello12=$(count_matching "$split" "$port" "dtls.handshake.type == 1 && dtls.handshake.version == 0xfefd")
  server12=$(count_matching "$split" "$port" "dtls.handshake.type == 2 && dtls.handshake.version == 0xfefd")
  # Server hello chose ECDHE-ECDSA-AES128-GCM-SHA256 (0xc02b) or ECDHE-ECDSA-CHACHA20-POLY1305 (0xcca9).
  aead=$(count_matching "$split" "$port" \
           "dtls.handshake.type == 2 && (dtls.handshake.ciphersuite == 0xc02b || dtls.handshake.ciphersuite == 0xcca9)")
  appdata=$(count_matching "$split" "$port" "dtls.record.content_type == 23")
  read -r app_bytes max_payload < <(timeout 60 tshark -n -r "$split" -d "udp.port==$port,dtls" \
      -T fields -E occurrence=a -E aggregator=/s -e udp.length -e dtls.record.content_type -e dtls.record.length \
      2>/dev/null | awk -F'\t' '
        { p = $1 - 8; if (p > maxp) maxp = p
          n = split($2, t, " "); split($3, l, " ")
          for (i = 1; i <= n; i++) if (t[i] == 23) app += l[i] - 24 }   # AEAD: 8-byte nonce, 16-byte tag
        END { printf "%d %d\n", app, maxp }')

  read -r _ supers inside _ <<<"$split_line"
  note "capture $cap: $total datagrams on udp port $port ($supers captured GSO sends split into $inside)"
  note "dtls frames=$dtls_frames application_data=$appdata ClientHello(1.2)=$hello12 ServerHello(1.2)=$server12" \
       "AEAD=$aead; not DTLS 1.2=$not12; malformed=$malformed; sctp visible=$sctp"
  note "largest UDP payload=$max_payload (MTU $mtu); application data plaintext >= $app_bytes bytes (sent $bytes)"

  [ "${total:-0}" -gt 0 ] || failures+=("no UDP packets on port $port in the capture")
  [ "$dtls_frames" = "$total" ] || failures+=("$((total - dtls_frames)) datagram(s) did not dissect as DTLS")
  [ "$malformed" = 0 ] || failures+=("$malformed malformed packet(s) (_ws.malformed or expert errors)")
  [ "$sctp" = 0 ] || failures+=("$sctp packet(s) show SCTP in clear")
  [ "$not12" = 0 ] || failures+=("$not12 record(s) that are not DTLS 1.2")
  [ "$hello12" -gt 0 ] || failures+=("no ClientHello offering DTLS 1.2")
  [ "$server12" -gt 0 ] || failures+=("no ServerHello choosing DTLS 1.2")
  [ "$aead" = "$server12" ] || failures+=("a ServerHello chose a suite that is not ECDHE-ECDSA with AES-128-GCM or ChaCha20-Poly1305")
  [ "$appdata" -gt 0 ] || failures+=("no application data records")
  [ "$max_payload" -le "$mtu" ] || failures+=("a UDP payload of $max_payload bytes exceeds the MTU $mtu")
  [ "$app_bytes" -ge "$bytes" ] || failures+=("application data carries $app_bytes bytes, fewer than the $bytes sent")

  if [ "${#failures[@]}" -gt 0 ]; then
    local f
    for f in "${failures[@]}"; do echo "capture_dtls: FAIL: $f" >&2; done
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
TRANSPORT=dtls
capture_link
[ -n "$FP" ] || fail "the dtls SMETHOD line has no fp= argument"

analyse "$DIR/cap.pcapng" "$PORT" "$BYTES" "$DEFAULT_MTU" || { dump_logs; exit 1; }

# The bytes sent are nowhere in the capture: the SCTP packets carrying them travel encrypted. (The sctp capture
# test runs the same check and finds them, so the check does see plaintext when it is there.)
CLEAR=$(python3 "$TOOL" plaintext "$DIR/cap.pcapng")
[ "$CLEAR" = 0 ] || fail "$CLEAR blocks of the data sent appear in clear in the capture"
note "none of the data sent appears in clear in the capture"
note "PASS"
