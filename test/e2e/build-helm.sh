#!/usr/bin/env bash
# Builds the helm CLI from its Go module into test/.cache/bin, for the
# `helm template` checks of deploy/helm (deploy/check). Skips the build when
# the binary exists (delete test/.cache/bin/helm to rebuild). Needs Go and the
# Go module proxy; no release download, so the same path works where only the
# proxy is reachable.
set -euo pipefail
. "$(dirname "$0")/tools.sh"

bin="$cache/bin/helm"
helm_version="v4.3.2"
skip_if_built helm "$bin"

echo "building helm $helm_version (a few minutes on a cold cache)"
GOBIN="$cache/bin" go install "helm.sh/helm/v4/cmd/helm@$helm_version"
test -x "$bin"
"$bin" version --short
