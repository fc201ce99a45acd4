#!/usr/bin/env bash
# hoplink's AppArmor profile and the rule that lets tor start it parse together with the machine's real
# /etc/apparmor.d (tor's system_tor, the abstractions), as the package installs them:
#   apparmor_test.sh DEBIAN_DIR
# In a copy of /etc/apparmor.d: debian/apparmor/usr.bin.hoplink into it, tor-hoplink into abstractions/,
# and the line hoplink.postinst adds to local/system_tor. apparmor_parser compiles without loading (-Q -K -T).
# Exits 77 (skip) where apparmor_parser or tor's profile is missing.
set -euo pipefail
debian=$(cd "$1" && pwd)

command -v apparmor_parser >/dev/null || { echo "SKIP: no apparmor_parser (apt-get install apparmor)"; exit 77; }
[[ -f /etc/apparmor.d/system_tor ]] || { echo "SKIP: no /etc/apparmor.d/system_tor (apt-get install tor)"; exit 77; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tree=$tmp/apparmor.d
cp -a /etc/apparmor.d "$tree"
cp "$debian/apparmor/usr.bin.hoplink" "$tree/"
cp "$debian/apparmor/tor-hoplink" "$tree/abstractions/"
line=$(sed -n "s/^HOPLINK_TOR_LINE='\(.*\)'\$/\1/p" "$debian/hoplink.postinst")
[[ -n $line ]] || { echo "FAIL: no HOPLINK_TOR_LINE in hoplink.postinst"; exit 1; }
mkdir -p "$tree/local"
echo "$line" >>"$tree/local/system_tor"
# Where the profile says include if exists <local/usr.bin.hoplink>, dh_apparmor's postinst creates it.
: >"$tree/local/usr.bin.hoplink"

parse() { apparmor_parser -Q -K -T --base "$tree" "$@" 2>&1 | grep -v '^Cache read/write disabled' || true; }
check_parses() {
    local out
    out=$(parse "$1"; apparmor_parser -Q -K -T --base "$tree" "$1" >/dev/null 2>&1 || echo "exit status $?")
    [[ -z $out ]] || { echo "FAIL: $1 does not parse: $out"; exit 1; }
}
check_parses "$tree/usr.bin.hoplink"
check_parses "$tree/system_tor"

# tor's profile, preprocessed, holds the exec rule; hoplink's profile attaches to the package's path.
apparmor_parser -p --base "$tree" "$tree/system_tor" 2>/dev/null | grep -qE '^\s*/usr/bin/hoplink Px,' ||
    { echo "FAIL: system_tor does not include /usr/bin/hoplink Px"; exit 1; }
grep -qE '^profile hoplink /usr/bin/hoplink ' "$tree/usr.bin.hoplink" ||
    { echo "FAIL: the profile is not attached to /usr/bin/hoplink"; exit 1; }

# After a purge the abstraction is gone; were the line left behind, tor's profile must still parse.
rm "$tree/abstractions/tor-hoplink"
check_parses "$tree/system_tor"

# The parser does refuse a broken rule here (the checks above could fail).
echo '/usr/bin/hoplink Qx,' >"$tree/abstractions/tor-hoplink"
if apparmor_parser -Q -K -T --base "$tree" "$tree/system_tor" >/dev/null 2>&1; then
    echo "FAIL: apparmor_parser accepted a broken rule"; exit 1
fi
echo "apparmor: usr.bin.hoplink and system_tor with tor-hoplink parse; system_tor runs /usr/bin/hoplink Px"
