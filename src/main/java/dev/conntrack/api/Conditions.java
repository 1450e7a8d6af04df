package dev.conntrack.api;

import io.fabric8.kubernetes.api.model.Condition;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Condition helpers shared by the operator (policy status) and the agent (node state status).
 * Follows the Kubernetes conventions that kstatus and Argo CD read: lastTransitionTime moves only
 * when a condition's status flips, so an unchanged condition never causes a status write.
 */
public final class Conditions {
    public static final String TRUE = "True";
    public static final String FALSE = "False";
    public static final String UNKNOWN = "Unknown";

    private Conditions() {
    }

    public static Condition of(String type, boolean status, String reason, String message, Long observedGeneration) {
        return create(type, status ? TRUE : FALSE, reason, message, observedGeneration);
    }

    /**
     * A condition without a transition time. The constructor, not the fluent builder: the agent
     * builds its conditions on every poll, and the builder's machinery was a good part of a poll
     * while the poll still runs interpreted.
     */
    public static Condition create(String type, String status, String reason, String message, Long observedGeneration) {
        return new Condition(null, message, observedGeneration, reason, status, type);
    }

    /** The condition of the given type, or null. */
    public static Condition find(List<Condition> conditions, String type) {
        if (conditions == null) {
            return null;
        }
        for (Condition c : conditions) {
            if (type.equals(c.getType())) {
                return c;
            }
        }
        return null;
    }

    public static boolean isTrue(List<Condition> conditions, String type) {
        Condition c = find(conditions, type);
        return c != null && TRUE.equals(c.getStatus());
    }

    /**
     * Merges freshly computed conditions into the previous ones: each new condition keeps the
     * previous lastTransitionTime when its status did not change, otherwise gets {@code now}.
     * Returns a new list in the order of {@code fresh}; previous conditions of other types are dropped.
     * A condition that did not change at all is the previous object itself: conditions are never
     * modified once built.
     */
    public static List<Condition> merge(List<Condition> previous, List<Condition> fresh, Instant now) {
        // Formatted only when a condition transitions: the agent merges on every poll, and
        // formatting the time was a good part of a poll while the poll is still interpreted.
        String stamp = null;
        List<Condition> merged = new ArrayList<>(fresh.size());
        for (Condition c : fresh) {
            Condition old = find(previous, c.getType());
            String transition;
            if (old != null && Objects.equals(old.getStatus(), c.getStatus()) && old.getLastTransitionTime() != null) {
                if (sameExceptTransition(old, c)) {
                    // Unchanged, the common case on every poll: keep the previous object.
                    merged.add(old);
                    continue;
                }
                transition = old.getLastTransitionTime();
            } else {
                if (stamp == null) {
                    stamp = now.truncatedTo(ChronoUnit.SECONDS).toString();
                }
                transition = stamp;
            }
            Condition next = new Condition(transition, c.getMessage(), c.getObservedGeneration(), c.getReason(), c.getStatus(), c.getType());
            if (!c.getAdditionalProperties().isEmpty()) {
                next.getAdditionalProperties().putAll(c.getAdditionalProperties());
            }
            merged.add(next);
        }
        return merged;
    }

    private static boolean sameExceptTransition(Condition old, Condition c) {
        return Objects.equals(old.getReason(), c.getReason()) && Objects.equals(old.getMessage(), c.getMessage())
                && Objects.equals(old.getObservedGeneration(), c.getObservedGeneration())
                && old.getAdditionalProperties().equals(c.getAdditionalProperties());
    }

    /** True when both lists carry the same conditions (type, status, reason, message, generation, transition time). */
    public static boolean same(List<Condition> a, List<Condition> b) {
        List<Condition> x = a == null ? List.of() : a;
        List<Condition> y = b == null ? List.of() : b;
        return x.equals(y);
    }
}
