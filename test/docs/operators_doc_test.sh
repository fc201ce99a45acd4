#!/usr/bin/env bash
# Keeps docs/operators.md true to the code: fails when the guide leaves out
#   - a STATUS field hoplink can write (every key the source adds to a STATUS line, cross-checked against the
#     STATUS lines a real hoplink prints for both transports, so that a key the source search misses fails too),
#   - a long option of `hoplink --help`,
#   - a reason an SCTP association closes with (the REASON="association closed: ..." of a closed link).
#
#   operators_doc_test.sh SOURCE_ROOT HOPLINK [GUIDE]     GUIDE defaults to SOURCE_ROOT/docs/operators.md
#
# Exit status 0 when everything is documented, 1 otherwise (each missing name is printed).
# Boost prints each option at an indent of two spaces (continuation lines deeper).
# Runs hoplink once in managed mode, bound to 127.0.0.1 on ports the kernel picks, for well under a second.
set -euo pipefail

ROOT=${1:?usage: operators_doc_test.sh SOURCE_ROOT HOPLINK [GUIDE]}
HOPLINK=${2:?usage: operators_doc_test.sh SOURCE_ROOT HOPLINK [GUIDE]}
GUIDE=${3:-$ROOT/docs/operators.md}

[[ -s $GUIDE ]] || { echo "FAIL: no guide at $GUIDE"; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/operators_doc_test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# --- STATUS keys written by the source -------------------------------------------------------------------
# Transports and the app add fields as add_field(fields, "KEY", ...), fields.emplace_back("KEY", ...), in
# brace lists {"KEY", ...} and, for the DPDK counters, add("KEY", ...). pt-spec writes the line's own keys.
grep -rhoE '(add_field\(fields, |emplace_back\(|add\(|\{)"[A-Z][A-Z0-9_]*"' "$ROOT/transport/src" |
    grep -oE '[A-Z][A-Z0-9_]*' | sort -u >"$WORK/source_keys"
grep -hE 'line\("STATUS |"STATUS |" [A-Z_]+=' "$ROOT/pt-spec/src/messages.cpp" |
    grep -oE '(STATUS | )[A-Z][A-Z_]*=' | grep -oE '[A-Z][A-Z_]*' | grep -v '^STATUS$' |
    grep -vE '^(SEVERITY|MESSAGE)$' >>"$WORK/source_keys"   # SEVERITY, MESSAGE: the LOG line's keys
sort -u -o "$WORK/source_keys" "$WORK/source_keys"
source_count=$(wc -l <"$WORK/source_keys")
# Today there are 91; a much smaller number means the search above no longer matches how the code is written.
if (( source_count < 60 )); then
    fail "found only $source_count STATUS keys in the source: the search in this test needs updating"
fi
for key in TYPE IMPLEMENTATION VERSION TRANSPORT LINK REASON PEERS; do
    grep -qx "$key" "$WORK/source_keys" || fail "the source search did not find the STATUS key $key"
done

# --- STATUS keys a real hoplink prints ---------------------------------------------------------------------
# Managed mode with both transports and stdin closed: hoplink starts, writes its SMETHOD lines, sees stdin
# closed, exits and writes the totals of each transport. Bounded by timeout.
mkdir -p "$WORK/state"
if ! env -i PATH="$PATH" TOR_PT_MANAGED_TRANSPORT_VER=1 TOR_PT_STATE_LOCATION="$WORK/state" \
        TOR_PT_SERVER_TRANSPORTS=sctp,dtls TOR_PT_ORPORT=127.0.0.1:9 \
        TOR_PT_SERVER_BINDADDR=sctp-127.0.0.1:0,dtls-127.0.0.1:0 TOR_PT_EXIT_ON_STDIN_CLOSE=1 \
        timeout 20 "$HOPLINK" </dev/null >"$WORK/stdout" 2>"$WORK/stderr"; then
    fail "hoplink did not run: $(head -c 500 "$WORK/stderr")"
fi
for transport in sctp dtls; do
    grep -q "^STATUS TRANSPORT=$transport " "$WORK/stdout" || fail "hoplink printed no STATUS line for $transport"
done
grep -q '^STATUS TYPE=version ' "$WORK/stdout" || fail "hoplink printed no version STATUS line"
grep -E '^STATUS ' "$WORK/stdout" | tr ' ' '\n' | grep -oE '^[A-Za-z0-9_-]+=' | tr -d '=' |
    sort -u >"$WORK/printed_keys"
while read -r key; do
    grep -qx "$key" "$WORK/source_keys" ||
        fail "hoplink printed the STATUS key $key, which the source search of this test does not find"
done <"$WORK/printed_keys"

# --- every key documented ----------------------------------------------------------------------------------
# As a whole word (grep -w: DTLS_HALF_OPEN is not found inside DTLS_HALF_OPEN_REFUSED).
while read -r key; do
    grep -qw -- "$key" "$GUIDE" || fail "STATUS field $key is not in $(basename "$GUIDE")"
done <"$WORK/source_keys"

# --- every long option of --help documented ------------------------------------------------------------
"$HOPLINK" --help >"$WORK/help"
grep -oE '^  (-[a-zA-Z] \[ )?--[a-z0-9][a-z0-9-]*' "$WORK/help" | grep -oE -- '--[a-z0-9-]+' |
    sort -u >"$WORK/options"
option_count=$(wc -l <"$WORK/options")
if (( option_count < 30 )); then
    fail "found only $option_count long options in 'hoplink --help': the search in this test needs updating"
fi
while read -r option; do
    # --dpdk must not count as --dpdk-port: the option ends where a name character does not follow.
    grep -qE -- "${option}([^a-z0-9-]|$)" "$GUIDE" || fail "option $option is not in $(basename "$GUIDE")"
done <"$WORK/options"

# --- every SCTP close reason documented ---------------------------------------------------------------------
# sctp/src/names.cpp: to_string(CloseReason) returns one name per reason.
awk '/to_string\(CloseReason/,/^}/' "$ROOT/sctp/src/names.cpp" | grep -oE 'return "[a-z_]+"' |
    grep -oE '"[a-z_]+"' | tr -d '"' | grep -vx unknown | sort -u >"$WORK/reasons"
reason_count=$(wc -l <"$WORK/reasons")
(( reason_count >= 4 )) || fail "found only $reason_count close reasons in sctp/src/names.cpp"
while read -r reason; do
    grep -qw -- "$reason" "$GUIDE" || fail "close reason $reason is not in $(basename "$GUIDE")"
done <"$WORK/reasons"

echo "checked $source_count STATUS fields ($(wc -l <"$WORK/printed_keys") seen in a real run)," \
    "$option_count options and $reason_count close reasons against $(basename "$GUIDE")"
if (( failures > 0 )); then
    echo "$failures missing: document them in docs/operators.md (section 7 for STATUS fields)"
    exit 1
fi
