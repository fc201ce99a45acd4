#!/usr/bin/env bash
# The manual page says what `hoplink --help` says: the same long options, each with the same default.
#   man_page_test.sh HOPLINK MANPAGE
# An option line of the page is "\fB\-\-NAME\fR ..." with "(default: VALUE)" where --help shows "(=VALUE)".
# Also renders the page with man's warnings on: any groff warning fails.
set -euo pipefail
hoplink=$1 page=$2

help=$("$hoplink" --help)
# --help's option lines: "  --name arg (=default)" or "  -h [ --help ]"; the name and the default, if any.
declare -A help_default=()
while read -r name default; do
    help_default[$name]=$default
done < <(sed -nE 's/^  (-[a-z] \[ )?--([a-z0-9-]+)( \])?( arg)?( \(=([^)]*)\))?.*/\2 \6/p' <<<"$help")
[[ ${#help_default[@]} -ge 40 ]] || { echo "FAIL: read only ${#help_default[@]} options from --help"; exit 1; }

declare -A page_default=()
while read -r name default; do
    page_default[$name]=$default
done < <(sed -nE 's/^\\fB\\-\\-([a-z0-9\\-]+)\\fR.*/\1 &/p' "$page" |
    sed -E 's/\\-/-/g; /\(default: /{ s/^([a-z0-9-]+) .*\(default: ([^)]*)\).*/\1 \2/; b; }; s/^([a-z0-9-]+) .*/\1/')
# -h, --help is written "\fB\-h\fR, \fB\-\-help\fR".
grep -qE '^\\fB\\-h\\fR, \\fB\\-\\-help\\fR' "$page" && page_default[help]=""

failed=0
for name in "${!help_default[@]}"; do
    if [[ ! -v page_default[$name] ]]; then
        echo "FAIL: --$name is in --help, not in $page"; failed=1
    elif [[ ${page_default[$name]} != "${help_default[$name]}" ]]; then
        echo "FAIL: --$name: default '${help_default[$name]}' in --help, '${page_default[$name]}' in $page"; failed=1
    fi
done
for name in "${!page_default[@]}"; do
    [[ -v help_default[$name] ]] || { echo "FAIL: --$name is in $page, not in --help"; failed=1; }
done
# The version in the page's header is the executable's.
version=$("$hoplink" --version | awk '{print $2}')
grep -qE "^\.TH HOPLINK 1 [^ ]+ \"hoplink $version\"" "$page" || { echo "FAIL: .TH does not say hoplink $version"; failed=1; }

warnings=$(LC_ALL=C.UTF-8 MANWIDTH=100 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null || true)
[[ -z $warnings ]] || { echo "FAIL: man warns:"; echo "$warnings"; failed=1; }

[[ $failed -eq 0 ]] || exit 1
echo "man page: ${#help_default[@]} options, each with --help's default"
