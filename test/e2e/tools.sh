# Sourced by the build scripts of test/e2e: where the repository and its
# tool cache are, and the skip when a tool is built already.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="$root/test/.cache"
mkdir -p "$cache/bin"

# skip_if_built NAME BIN ends the script when BIN is there: a build takes
# minutes, and deleting BIN asks for a new one.
skip_if_built() {
  if [[ -x "$2" ]]; then
    echo "$1 present: $2"
    exit 0
  fi
}
