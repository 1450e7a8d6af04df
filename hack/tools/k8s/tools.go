//go:build tools

// Package tools pins the Kubernetes commands hack/build-test-binaries.sh compiles.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
