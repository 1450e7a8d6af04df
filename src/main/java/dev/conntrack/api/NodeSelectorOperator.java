package dev.conntrack.api;

/** Label selector operators, as in Kubernetes label selectors. */
public enum NodeSelectorOperator {
    In,
    NotIn,
    Exists,
    DoesNotExist
}
