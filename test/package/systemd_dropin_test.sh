#!/usr/bin/env bash
# Each systemd drop-in of examples/systemd/ verifies (systemd-analyze verify) on Debian's tor@default.service,
# with no warning at all: systemd only warns about unknown keys and bad values and still exits 0.
#   systemd_dropin_test.sh EXAMPLES_SYSTEMD_DIR
# Works without a running systemd: the unit and one drop-in at a time are put in a unit directory of their
# own (SYSTEMD_UNIT_PATH). Exits 77 (skip) without systemd-analyze or tor's unit.
set -euo pipefail
dir=$(cd "$1" && pwd)
unit=/lib/systemd/system/tor@default.service

command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze"; exit 77; }
[[ -f $unit ]] || { echo "SKIP: no $unit (apt-get install tor)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/tor@default.service.d"
cp "$unit" "$tmp/"

verify() { # prints systemd-analyze's complaints; exits non-zero on its own failure
    SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify "$tmp/tor@default.service" 2>&1
}

# The drop-in directory is read: a drop-in with an unknown key draws a warning naming it.
printf '[Service]\nHoplinkCanary=1\n' >"$tmp/tor@default.service.d/canary.conf"
verify | grep -q "canary.conf.*HoplinkCanary" || { echo "FAIL: systemd-analyze did not read the drop-in directory"; exit 1; }
rm "$tmp/tor@default.service.d/canary.conf"

count=0
for conf in "$dir"/*.conf; do
    cp "$conf" "$tmp/tor@default.service.d/"
    out=$(verify) || { echo "FAIL: $(basename "$conf"): $out"; exit 1; }
    [[ -z $out ]] || { echo "FAIL: $(basename "$conf"):"; echo "$out"; exit 1; }
    rm "$tmp/tor@default.service.d/$(basename "$conf")"
    count=$((count + 1))
done
[[ $count -ge 2 ]] || { echo "FAIL: found $count drop-ins in $dir"; exit 1; }
echo "systemd: $count drop-ins verify on tor@default.service without a warning"
