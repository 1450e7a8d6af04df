#!/usr/bin/env bash
# The test command: installs what the tests need, builds the test cluster binaries when missing,
# then runs every tier: unit (surefire), then the real kube-apiserver, real kernel, end-to-end and
# real-node tiers (failsafe).
#   hack/test.sh [MAVEN_ARGS...]        every tier (what CI runs: .ci/run)
#   hack/test.sh node [MAVEN_ARGS...]   only the real-node tier (*NodeTest)
# The node tier starts a real one-node cluster (hack/cluster.sh up --node) and builds the image
# from the Dockerfile (hack/image.sh); the node is brought down, and the host restored, when the
# tests end, and once more here whatever happened to the test JVM.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
tier=all
if [[ "${1:-}" == node ]]; then
  tier="$1"
  shift
fi
started=$SECONDS
"$ROOT/hack/install-deps.sh" --node
"$ROOT/hack/build-test-binaries.sh" --node >/dev/null
echo "[test] dependencies and test cluster binaries ready after $((SECONDS - started)) s" >&2
trap '"$ROOT/hack/cluster.sh" down --node >/dev/null 2>&1 || true' EXIT
rc=0
case "$tier" in
  node) ./mvnw -B verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='*NodeTest' "$@" || rc=$? ;;
  all) ./mvnw -B verify "$@" || rc=$? ;;
esac
echo "[test] $tier: exit $rc after $((SECONDS - started)) s" >&2
exit $rc
