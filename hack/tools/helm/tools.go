//go:build tools

// Package tools pins the helm command hack/build-test-binaries.sh compiles for the chart tests.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
