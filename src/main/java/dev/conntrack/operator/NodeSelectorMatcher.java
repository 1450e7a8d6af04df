package dev.conntrack.operator;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.NodeSelector;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import io.fabric8.kubernetes.api.model.Node;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Evaluates a policy's {@code nodeSelector} against a Node's labels with the semantics of
 * Kubernetes' {@code metav1.LabelSelectorAsSelector}: matchLabels and every matchExpression must
 * hold; NotIn and DoesNotExist hold when the key is absent; a null or empty selector selects every
 * node. A selector Kubernetes would reject (unknown operator, In/NotIn without values, Exists with
 * values, no key) selects no node: failing closed keeps a typo from tuning the whole fleet. The
 * CRD's CEL rules reject such selectors already; this is the second line of defence.
 */
public final class NodeSelectorMatcher {

    private NodeSelectorMatcher() {
    }

    /** Whether the policy (its spec.nodeSelector) selects the node; a policy without spec selects every node. */
    public static boolean selects(ConntrackPolicy policy, Node node) {
        return matches(policy.getSpec() == null ? null : policy.getSpec().getNodeSelector(), node);
    }

    public static boolean matches(NodeSelector selector, Node node) {
        return selector == null || matches(selector.toLabelSelector(), node);
    }

    public static boolean matches(LabelSelector selector, Node node) {
        Map<String, String> labels = node == null || node.getMetadata() == null ? null : node.getMetadata().getLabels();
        return matches(selector, labels);
    }

    public static boolean matches(LabelSelector selector, Map<String, String> labels) {
        if (selector == null) {
            return true;
        }
        if (invalidReason(selector).isPresent()) {
            return false;
        }
        Map<String, String> actual = labels == null ? Map.of() : labels;
        Map<String, String> matchLabels = selector.getMatchLabels();
        if (matchLabels != null) {
            for (Map.Entry<String, String> wanted : matchLabels.entrySet()) {
                if (!wanted.getValue().equals(actual.get(wanted.getKey()))) {
                    return false;
                }
            }
        }
        List<LabelSelectorRequirement> expressions = selector.getMatchExpressions();
        if (expressions != null) {
            for (LabelSelectorRequirement r : expressions) {
                if (!holds(r, actual)) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * Why Kubernetes would refuse this selector, or empty when it is well formed. The reconciler
     * can surface the reason instead of silently selecting nothing.
     */
    public static Optional<String> invalidReason(LabelSelector selector) {
        if (selector == null) {
            return Optional.empty();
        }
        if (selector.getMatchLabels() != null) {
            for (Map.Entry<String, String> e : selector.getMatchLabels().entrySet()) {
                if (isBlank(e.getKey()) || e.getValue() == null) {
                    return Optional.of("matchLabels needs a key and a value for every entry");
                }
            }
        }
        if (selector.getMatchExpressions() == null) {
            return Optional.empty();
        }
        for (LabelSelectorRequirement r : selector.getMatchExpressions()) {
            if (r == null || isBlank(r.getKey())) {
                return Optional.of("matchExpressions needs a key in every entry");
            }
            String op = r.getOperator();
            boolean hasValues = r.getValues() != null && !r.getValues().isEmpty();
            if ("In".equals(op) || "NotIn".equals(op)) {
                if (!hasValues) {
                    return Optional.of("matchExpressions key " + r.getKey() + ": " + op + " needs at least one value");
                }
            } else if ("Exists".equals(op) || "DoesNotExist".equals(op)) {
                if (hasValues) {
                    return Optional.of("matchExpressions key " + r.getKey() + ": " + op + " takes no values");
                }
            } else {
                return Optional.of("matchExpressions key " + r.getKey() + ": unknown operator " + op
                        + " (In, NotIn, Exists, DoesNotExist)");
            }
        }
        return Optional.empty();
    }

    /** One requirement, already known to be well formed. */
    private static boolean holds(LabelSelectorRequirement r, Map<String, String> labels) {
        String value = labels.get(r.getKey());
        switch (r.getOperator()) {
            case "In":
                return value != null && r.getValues().contains(value);
            case "NotIn":
                return value == null || !r.getValues().contains(value);
            case "Exists":
                return labels.containsKey(r.getKey());
            case "DoesNotExist":
                return !labels.containsKey(r.getKey());
            default:
                return false;
        }
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}
