#!/usr/bin/env bash
# The test command: installs what the tests need, builds the test cluster binaries when missing,
# then runs every tier: unit (surefire), then the real kube-apiserver, real kernel, end-to-end,
# real-node and k3s tiers (failsafe).
#   hack/test.sh [MAVEN_ARGS...]        every tier (what CI runs: .ci/run)
#   hack/test.sh node [MAVEN_ARGS...]   only the real-node tier (*NodeTest)
#   hack/test.sh k3s [MAVEN_ARGS...]    only the k3s tier (*K3sE2ETest)
#   hack/test.sh mutation               PIT over the pure logic, then the score per package and class
# The node tier starts a real one-node cluster (hack/cluster.sh up --node) and builds the image
# from the Dockerfile (hack/image.sh); the node is brought down, and the host restored, when the
# tests end, and once more here whatever happened to the test JVM. The k3s tier needs a Docker
# engine: when none answers, one of our own is started (hack/docker.sh) and stopped afterwards
# (the host's sysctls and cgroups restored); k3s is built from the Go module proxy and its image
# here (hack/image.sh k3s), loaded into the engine, and the tier is turned on (-Dconntrack.k3s).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ "${1:-}" == "mutation" ]]; then
  # Mutation testing (PIT, profile `mutation` in pom.xml) of the pure logic against the unit tier:
  # how many deliberately broken builds the tests notice. Long (about 30 minutes on 2 cores), not
  # part of the default run; needs no root, cluster or kernel. Report: target/pit-reports/index.html.
  shift
  ./mvnw -B -Pmutation test-compile org.pitest:pitest-maven:mutationCoverage "$@"
  exec python3 "$ROOT/hack/lib/mutation-score.py" target/pit-reports/mutations.xml
fi
tier=all
if [[ "${1:-}" == node || "${1:-}" == k3s ]]; then
  tier="$1"
  shift
fi
started=$SECONDS
log() { echo "[test] $*" >&2; }
if [[ $tier == node ]]; then
  "$ROOT/hack/install-deps.sh" --node
  "$ROOT/hack/build-test-binaries.sh" --node >/dev/null
else
  "$ROOT/hack/install-deps.sh" --node --k3s
  "$ROOT/hack/build-test-binaries.sh" --k3s >/dev/null
fi
log "dependencies and test cluster binaries ready after $((SECONDS - started)) s"

cleanup() {
  "$ROOT/hack/cluster.sh" down --node >/dev/null 2>&1 || true
  "$ROOT/hack/docker.sh" down >/dev/null 2>&1 || true
}
trap cleanup EXIT

k3s_args=()
if [[ $tier != node ]]; then
  if ! docker version >/dev/null 2>&1; then
    # No engine answers (CI, these machines): the k3s tier starts one of its own for its tests and
    # stops it right after them (hack/docker.sh; the trap above once more whatever happened).
    DOCKER_HOST="$("$ROOT/hack/docker.sh" host)"
    export DOCKER_HOST
    # Its published ports listen on loopback only; Testcontainers would otherwise take the bridge's
    # gateway for the engine's address (this machine looks like a container to it: /.dockerenv).
    export TESTCONTAINERS_HOST_OVERRIDE=127.0.0.1
    k3s_args+=(-Dconntrack.docker.own=true)
  fi
  # Ryuk (Testcontainers' reaper) is an image from a registry; the suite stops its container itself.
  export TESTCONTAINERS_RYUK_DISABLED=true
  # Its start-up checks run an alpine container, also from a registry.
  export TESTCONTAINERS_CHECKS_DISABLE=true
  # shellcheck source=hack/versions.env
  source "$ROOT/hack/versions.env"
  # No registry: k3s's image is built here (cached) and loaded into the engine by the suite.
  k3s_archive="$("$ROOT/hack/image.sh" k3s)"
  k3s_args+=(-Dconntrack.k3s=true -Dconntrack.k3s.image="rancher/k3s:${K3S_VERSION/+/-}" -Dconntrack.k3s.archive="$k3s_archive"
    -Dconntrack.image.archive="$ROOT/target/images/conntrack-operator.tar")
  log "k3s image ready after $((SECONDS - started)) s"
fi

rc=0
case "$tier" in
  node) ./mvnw -B verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='*NodeTest' "$@" || rc=$? ;;
  k3s) ./mvnw -B verify -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dit.test='*K3sE2ETest' "${k3s_args[@]}" "$@" || rc=$? ;;
  all) ./mvnw -B verify "${k3s_args[@]}" "$@" || rc=$? ;;
esac
log "$tier: exit $rc after $((SECONDS - started)) s"
exit $rc
