#!/usr/bin/env bash
# Runs every fuzz target of the module for a short fixed time each, one after
# the other (go test runs one fuzz target per invocation).
#
#   scripts/fuzz.sh                       # 10s per target
#   FUZZTIME=1m scripts/fuzz.sh
#   scripts/fuzz.sh ./mapping/ ./batch/   # only these packages
#
# The targets are found with `go test -list '^Fuzz'`, so new ones are picked up
# without editing this file. A failing input is written under the package's
# testdata/fuzz/<target>/ and makes the script exit non-zero once the other
# targets have run.
#
# Go 1.26's fuzzing coordinator can end a run with a bare "context deadline
# exceeded" at the -fuzztime boundary when a worker is slow to stop
# (golang/go#75804, fixed in Go 1.27). Such a run wrote no failing input; the
# script then replays the target's seeds and corpus without fuzzing and
# counts it as failed only if that replay fails.
set -euo pipefail
cd "$(dirname "$0")/.."

fuzztime=${FUZZTIME:-10s}
if [ "$#" -gt 0 ]; then
	pkgs=("$@")
else
	mapfile -t pkgs < <(go list ./...)
fi

# files counts the failing inputs saved for a target.
files() {
	if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi
}

failed=()
flaked=()
count=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in "${pkgs[@]}"; do
	# Only packages with test files can hold fuzz targets.
	if [ -z "$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}x{{end}}' "$pkg")" ]; then
		continue
	fi
	dir=$(go list -f '{{.Dir}}' "$pkg")
	targets=$(go test -list '^Fuzz' -run '^$' "$pkg" | grep '^Fuzz' || true)
	for target in $targets; do
		count=$((count + 1))
		corpus="$dir/testdata/fuzz/$target"
		before=$(files "$corpus")
		echo "fuzz: $pkg $target ($fuzztime)"
		if go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" 2>&1 | tee "$log"; then
			continue
		fi
		after=$(files "$corpus")
		if [ "$after" -eq "$before" ] && grep -q 'context deadline exceeded' "$log" &&
			go test -run "^${target}\$" "$pkg" >/dev/null 2>&1; then
			echo "fuzz: $pkg $target stopped with 'context deadline exceeded' and no failing input (golang/go#75804); its corpus replays clean"
			flaked+=("$pkg $target")
			continue
		fi
		failed+=("$pkg $target")
	done
done

echo "fuzz: $count targets run for $fuzztime each; ${#failed[@]} failed, ${#flaked[@]} stopped early (golang/go#75804)"
if [ "${#failed[@]}" -gt 0 ]; then
	printf 'fuzz: FAILED: %s\n' "${failed[@]}"
	exit 1
fi
