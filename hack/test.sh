#!/usr/bin/env bash
# The test command: builds the test cluster binaries when missing, then runs every tier:
# unit (surefire), then the real kube-apiserver, real kernel and end-to-end tiers (failsafe).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/hack/install-deps.sh"
"$ROOT/hack/build-test-binaries.sh" >/dev/null
exec ./mvnw -B verify "$@"
