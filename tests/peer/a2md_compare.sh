#!/bin/bash
# Runs the same a2md command sequence with mod_md's a2md and with ours, each on a fresh store,
# and compares what they print on stdout (-j JSON) and their exit codes, command by command.
# Not part of CI: mod_md's a2md is not packaged by Debian. Build it from mod_md's source
# (autoreconf -fi && ./configure --with-apxs=/usr/bin/apxs && make, with libcurl4-openssl-dev
# and libjansson-dev) and run:
#
#   tests/peer/a2md_compare.sh /path/to/mod_md/src/a2md build/a2md [SEQUENCE_FILE]
#
# SEQUENCE_FILE: one a2md command line per line (shell words), run with
# "-d <store> -a https://acme.example/dir -j" before it; default: the sequence below, which
# needs no CA (registry and store commands, their refusals and statuses).
# Known differences (docs/compatibility.md): `store list` order; `acme validate` of an unknown
# id (mod_md asks the CA's directory first).
set -u
ref=${1:?usage: a2md_compare.sh MODMD_A2MD OUR_A2MD [SEQUENCE_FILE]}
ours=${2:?usage: a2md_compare.sh MODMD_A2MD OUR_A2MD [SEQUENCE_FILE]}
seq=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if [ -z "$seq" ]; then
  seq=$work/seq.txt
  cat > "$seq" <<'SEQ'
add greenbytes2.de www.greenbytes2.de mail.greenbytes2.de
add test-100.com test-101.com test-102.com
add greenbytes2.de
add tld
add 'white sp.ace'
add invalid.*.wildcard.com
add '*.wildcard.com'
add xn--kller-jua.punycode.de
add sub.test-100.com
add greenbytes3.de test-101.com
list
list test-101.com
list nothere.com
update greenbytes2.de domains foo.de bar.de
update greenbytes2.de domains
update greenbytes2.de domains test-100.com
update greenbytes2.de domains foo.de foo.de FOO.de
update nothere.com domains x.com
update greenbytes2.de ca http://localhost.com:9999
update greenbytes2.de ca no.schema/path
update greenbytes2.de ca 'http://white space/path'
update greenbytes2.de ca http://bad.port:-1/path
update greenbytes2.de ca https://acme.example/dir FOO
update greenbytes2.de account test.account.id
update greenbytes2.de account
update greenbytes2.de contacts test@greenbytes.de
update greenbytes2.de contacts
update greenbytes2.de contacts no.at.char
update greenbytes2.de contacts double@at@test.com
update greenbytes2.de contacts wrong://schema@test.com
update greenbytes2.de agreement https://tos.example/
update greenbytes2.de agreement
update greenbytes2.de frobnicate
store add x1.de
store update x1.de
store update x1.de domains x1.de x2.de
store update x1.de domains
store update x9.de
store remove x9.de
store remove -f x9.de
store remove x1.de
list
bogus
store bogus
SEQ
fi

run_seq() { # a2md store
  local bin=$1 store=$2
  mkdir -p "$store"
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    eval "set -- $line"
    out=$("$bin" -d "$store" -a https://acme.example/dir -j "$@" 2>/dev/null)
    echo "### $line -> exit $?"
    echo "$out"
  done < "$seq"
}
run_seq "$ref" "$work/ref" > "$work/ref.out"
run_seq "$ours" "$work/ours" > "$work/ours.out"
if diff -u "$work/ref.out" "$work/ours.out"; then
  echo "a2md_compare: the same output and exit codes for $(grep -c . "$seq") commands"
else
  exit 1
fi
