#!/usr/bin/env bash
# The test command: builds the test cluster binaries when missing, then runs every tier:
# unit (surefire), then the real kube-apiserver, real kernel and end-to-end tiers (failsafe).
#   hack/test.sh [maven args]     every tier (what CI runs)
#   hack/test.sh mutation         PIT over the pure logic, then the score per package and class
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
"$ROOT/hack/install-deps.sh"
"$ROOT/hack/build-test-binaries.sh" >/dev/null
exec ./mvnw -B verify "$@"
