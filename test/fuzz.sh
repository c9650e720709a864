#!/usr/bin/env bash
# fuzz.sh FUZZTIME: runs every fuzz target of the module for FUZZTIME
# (make fuzz). The targets are found with grep, not by compiling every
# package's tests.
#
# Go 1.26's fuzzing coordinator can report a bare "context deadline
# exceeded" when -fuzztime ends while a worker is stopping, with no failing
# input (go.dev/issue/75804, fixed in Go 1.27). A real failure always
# writes its input under testdata/fuzz/<target>/; so a failure that wrote
# none and says only that is run again, up to three times (the race met
# about one run in twelve here, so twice in a row would still fail a CI
# run now and then), and fails only if it keeps happening.
set -u
fuzztime=${1:?usage: fuzz.sh FUZZTIME}
go=${GO:-go}

inputs() { ls "$1" 2>/dev/null | wc -l; }

run() { # pkg target
  local pkg=$1 t=$2 out before
  out=$(mktemp)
  before=$(inputs "$pkg/testdata/fuzz/$t")
  "$go" test -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$out"
  local rc=${PIPESTATUS[0]}
  if [ "$rc" -ne 0 ] && [ "$(inputs "$pkg/testdata/fuzz/$t")" -eq "$before" ] &&
    grep -q '^    context deadline exceeded$' "$out" && ! grep -q 'Failing input written' "$out"; then
    rc=75
  fi
  rm -f "$out"
  return "$rc"
}

grep -rn --include='*_test.go' --exclude-dir=.cache --exclude-dir=benthos '^func Fuzz' . |
  sed 's|^\(.*\)/[^/]*_test.go:[0-9]*:func \(Fuzz[A-Za-z0-9_]*\).*|\1 \2|' | sort -u |
  while read -r pkg t; do
    echo "fuzz $pkg $t"
    for attempt in 1 2 3 4; do
      run "$pkg" "$t"
      rc=$?
      [ "$rc" -eq 75 ] && [ "$attempt" -lt 4 ] || break
      echo "fuzz $pkg $t: stopped with the coordinator's deadline race and no failing input; running it again"
    done
    [ "$rc" -eq 0 ] || exit 1
  done
