//go:build tools

// Package tools pins the promtool command hack/build-test-binaries.sh compiles: the chart tests
// check the PrometheusRule's rules with `promtool check rules`.
package tools

import _ "github.com/prometheus/prometheus/cmd/promtool"
