#!/usr/bin/env bash
# Regenerates the CRD YAML from the Java API classes and copies it to crds/ (and the chart), then
# the API reference docs/api.md from those CRDs (ApiReferenceTest checks both stay in step).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
./mvnw -B -q package -DskipTests
for plural in conntrackpolicies conntracknodestates; do
  cp "target/kubernetes/$plural.conntrack.dev-v1.yml" "crds/$plural.conntrack.dev.yaml"
  if [[ -d helm/conntrack-operator/crds ]]; then
    cp "target/kubernetes/$plural.conntrack.dev-v1.yml" "helm/conntrack-operator/crds/$plural.conntrack.dev.yaml"
  fi
done
./mvnw -B -q test -Dtest=ApiReferenceTest -Dconntrack.docs.write=true -Dsurefire.failIfNoSpecifiedTests=false
echo "crds/ and docs/api.md updated from the Java API classes"
