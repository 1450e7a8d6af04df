package dev.conntrack.agent.core;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Clock;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Merges freshly computed conditions into the previous status: lastTransitionTime is kept unless
 * the status of that type flipped (or it is new), so an unchanged node produces an identical list
 * and the caller can skip the status write ({@link #equivalent}). The agent owns all conditions of
 * its node's status, so the result holds exactly the new types; previous-only types are dropped.
 */
public final class ConditionMerger {
    private final Clock clock;

    public ConditionMerger(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /** Copies of NEXT with lastTransitionTime set; neither input is modified. */
    public List<Condition> merge(List<Condition> previous, List<Condition> next) {
        Map<String, Condition> before = byType(previous);
        String now = DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.SECONDS));
        List<Condition> merged = new ArrayList<>(next.size());
        for (Condition c : next) {
            Condition old = before.get(c.getType());
            boolean keep = old != null && Objects.equals(old.getStatus(), c.getStatus()) && old.getLastTransitionTime() != null;
            merged.add(new ConditionBuilder(c).withLastTransitionTime(keep ? old.getLastTransitionTime() : now).build());
        }
        return merged;
    }

    /** Same types with the same status, reason, message, observedGeneration and lastTransitionTime, in any order. */
    public static boolean equivalent(List<Condition> a, List<Condition> b) {
        Map<String, Condition> left = byType(a);
        Map<String, Condition> right = byType(b);
        if (!left.keySet().equals(right.keySet())) {
            return false;
        }
        for (Map.Entry<String, Condition> e : left.entrySet()) {
            Condition x = e.getValue();
            Condition y = right.get(e.getKey());
            if (!Objects.equals(x.getStatus(), y.getStatus())
                    || !Objects.equals(x.getReason(), y.getReason())
                    || !Objects.equals(x.getMessage(), y.getMessage())
                    || !Objects.equals(x.getObservedGeneration(), y.getObservedGeneration())
                    || !Objects.equals(x.getLastTransitionTime(), y.getLastTransitionTime())) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, Condition> byType(List<Condition> conditions) {
        Map<String, Condition> map = new HashMap<>();
        if (conditions != null) {
            for (Condition c : conditions) {
                map.put(c.getType(), c);
            }
        }
        return map;
    }
}
