#!/usr/bin/env bash
# Builds the OpenTelemetry Collector of the OTLP system tests from the
# manifest in deploy/otelcol with the collector builder, into test/.cache.
# Skips the build when the binary exists (delete test/.cache/otelcol to
# rebuild). Needs Go and the Go module proxy.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

bin="$cache/otelcol/otelcol-auditrelay"
builder_version="v0.161.0"
skip_if_built collector "$bin"

if [[ ! -x "$cache/bin/builder" ]]; then
  echo "installing the collector builder $builder_version"
  GOBIN="$cache/bin" go install "go.opentelemetry.io/collector/cmd/builder@$builder_version"
fi

echo "building the collector (about a minute)"
cd "$root"
"$cache/bin/builder" --config "$root/deploy/otelcol/builder-config.yaml"
test -x "$bin"
echo "collector built: $bin"
