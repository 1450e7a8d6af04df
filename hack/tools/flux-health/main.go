// Command flux-health evaluates Flux's health check expressions (Kustomization
// spec.healthCheckExprs) against Kubernetes objects with Flux's own evaluator
// (github.com/fluxcd/pkg/runtime/cel), the code kustomize-controller runs.
//
//	flux-health -current EXPR [-failed EXPR] [-in-progress EXPR] OBJECT.json...
//
// Prints one line per object: "<file> <status>", status being kstatus' Current, Failed or
// InProgress. Exits 2 on a bad expression or object.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"

	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/runtime/cel"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

func main() {
	current := flag.String("current", "", "CEL expression: the object is healthy")
	failed := flag.String("failed", "", "CEL expression: the object failed")
	inProgress := flag.String("in-progress", "", "CEL expression: the object is still progressing")
	flag.Parse()
	evaluator, err := cel.NewStatusEvaluator(&kustomize.HealthCheckExpressions{
		Current: *current, Failed: *failed, InProgress: *inProgress,
	})
	if err != nil {
		fail(err)
	}
	for _, file := range flag.Args() {
		data, err := os.ReadFile(file)
		if err != nil {
			fail(err)
		}
		var object map[string]any
		if err := json.Unmarshal(data, &object); err != nil {
			fail(fmt.Errorf("%s: %w", file, err))
		}
		result, err := evaluator.Evaluate(context.Background(), &unstructured.Unstructured{Object: object})
		if err != nil {
			fail(fmt.Errorf("%s: %w", file, err))
		}
		fmt.Printf("%s %s\n", file, result.Status)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "flux-health:", err)
	os.Exit(2)
}
