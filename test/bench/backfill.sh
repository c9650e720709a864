#!/usr/bin/env bash
# Backfill benchmark of the backbone: `auditrelay run --once` (audit-log
# source -> file sink, no transforms) against the bare pager, both fetching
# the same simulated organization over real HTTP from a simulator in its own
# process, one after the other in the same run. Reports events/s, wall
# time, CPU seconds and peak RSS (/usr/bin/time -v) for each size.
#
#   test/bench/backfill.sh [EVENTS...]      (default: 100000 1000000)
set -euo pipefail
cd "$(dirname "$0")/../.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000)
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
go build -o "$work/auditrelay" ./cmd/auditrelay
go build -o "$work/barepager" ./test/bench/barepager
port=$((20000 + RANDOM % 20000))

measure() { # name logfile -> "rss_mib wall_s cpu_s"
  awk -F': ' '/Maximum resident set size/ {rss=$2/1024}
              /Elapsed \(wall clock\)/ {n=split($2,a,":"); w=0; for(i=1;i<=n;i++) w=w*60+a[i]}
              /User time/ {u=$2} /System time/ {s=$2}
              END {printf "%.1f %.2f %.2f", rss, w, u+s}' "$1"
}

printf '| events | program | wall s | events/s | CPU s | CPU s per 1M events | peak RSS MiB |\n'
printf '|---:|---|---:|---:|---:|---:|---:|\n'
for n in "${sizes[@]}"; do
  "$work/auditrelay" simulate --listen "127.0.0.1:$port" --events "$n" --org-logs 0 --rate 0 --span 720h --seed 1 >"$work/sim.log" 2>&1 &
  simpid=$!
  for _ in $(seq 50); do curl -fs -o /dev/null -H 'Authorization: Bearer x' "http://127.0.0.1:$port/v1/organization/audit_logs?limit=1" && break; sleep 0.1; done
  base="http://127.0.0.1:$port/v1"

  /usr/bin/time -v "$work/barepager" --base-url "$base" --out "$work/bare.jsonl" >"$work/bare.out" 2>"$work/bare.time"
  read -r rss wall cpu <<<"$(measure "$work/bare.time")"
  lines=$(wc -l <"$work/bare.jsonl")
  printf '| %d | bare pager | %.2f | %.0f | %.2f | %.2f | %.1f |\n' "$n" "$wall" "$(echo "$lines / $wall" | bc -l)" "$cpu" "$(echo "$cpu * 1000000 / $lines" | bc -l)" "$rss"
  bare_rate=$(echo "$lines / $wall" | bc -l)

  mkdir -p "$work/ar"
  cat >"$work/ar/auditrelay.yaml" <<YAML
sources:
  - name: bench
    type: openai_audit_logs
    base_url: $base
    api_key: sk-admin-bench
    start_at: 800h
    settle: 0s
sinks:
  - name: archive
    type: file
    path: audit.jsonl
checkpoint:
  type: file
  dir: state
log:
  level: warn
YAML
  /usr/bin/time -v "$work/auditrelay" run -c "$work/ar/auditrelay.yaml" --once >"$work/ar.out" 2>"$work/ar.time"
  read -r rss wall cpu <<<"$(measure "$work/ar.time")"
  lines=$(wc -l <"$work/ar/audit.jsonl")
  [ "$lines" -eq "$(wc -l <"$work/bare.jsonl")" ] || { echo "auditrelay wrote $lines events, the bare pager $(wc -l <"$work/bare.jsonl")" >&2; exit 1; }
  rate=$(echo "$lines / $wall" | bc -l)
  printf '| %d | auditrelay run --once | %.2f | %.0f (%.0f%% of bare) | %.2f | %.2f | %.1f |\n' "$n" "$wall" "$rate" "$(echo "100 * $rate / $bare_rate" | bc -l)" "$cpu" "$(echo "$cpu * 1000000 / $lines" | bc -l)" "$rss"
  rm -rf "$work/ar" "$work/bare.jsonl"
  kill "$simpid"; wait "$simpid" 2>/dev/null || true
done
