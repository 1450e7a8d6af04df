/**
 * The conntrack.dev/v1alpha1 API: {@link dev.conntrack.api.ConntrackPolicy} written by users and
 * {@link dev.conntrack.api.ConntrackNodeState}, one per Node, whose spec the operator writes and whose
 * status only that node's agent writes. The CRD YAML under crds/ is generated from these classes.
 */
package dev.conntrack.api;
