package dev.conntrack.operator;

/** Labels and names on the objects the operator manages. */
public final class OperatorLabels {
    public static final String MANAGED_BY = "app.kubernetes.io/managed-by";
    public static final String MANAGED_BY_VALUE = "conntrack-operator";
    public static final String FINALIZER = "conntrack.dev/finalizer";

    private OperatorLabels() {
    }
}
