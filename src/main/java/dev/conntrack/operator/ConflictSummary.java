package dev.conntrack.operator;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeState;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** The conflicts that name this policy, across its nodes: field -> the other policies involved. */
final class ConflictSummary {
    private static final int CONFLICT_MENTIONS = 5;
    private final String policyName;
    private final Map<String, Set<String>> othersByField = new TreeMap<>();
    private int nodes;

    ConflictSummary(String policyName) {
        this.policyName = policyName;
    }

    void add(ConntrackNodeState state) {
        List<ConflictNote> notes = state.getSpec() == null ? null : state.getSpec().getConflicts();
        if (notes == null) {
            return;
        }
        boolean involved = false;
        for (ConflictNote note : notes) {
            if (note.getPolicies() == null || !note.getPolicies().contains(policyName)) {
                continue;
            }
            involved = true;
            Set<String> others = othersByField.computeIfAbsent(String.valueOf(note.getField()), f -> new TreeSet<>());
            for (String p : note.getPolicies()) {
                if (!policyName.equals(p)) {
                    others.add(p);
                }
            }
        }
        if (involved) {
            nodes++;
        }
    }

    Condition condition(Long generation) {
        if (othersByField.isEmpty()) {
            return Conditions.of(PolicyStatusAggregator.CONFLICT, false, PolicyStatusAggregator.REASON_NO_CONFLICT, "No policy of equal priority sets a field differently", generation);
        }
        List<String> mentions = new ArrayList<>();
        for (Map.Entry<String, Set<String>> e : othersByField.entrySet()) {
            mentions.add(e.getKey() + " (with " + PolicyConditions.names(new ArrayList<>(e.getValue())) + ")");
        }
        String shown = String.join(", ", mentions.subList(0, Math.min(mentions.size(), CONFLICT_MENTIONS)));
        if (mentions.size() > CONFLICT_MENTIONS) {
            shown += " and " + (mentions.size() - CONFLICT_MENTIONS) + " more";
        }
        return Conditions.of(PolicyStatusAggregator.CONFLICT, true, PolicyStatusAggregator.REASON_EQUAL_PRIORITY_CONFLICT,
                PolicyConditions.cap("Policies of equal priority set different values on " + PolicyConditions.nodes(nodes) + ": " + shown
                        + "; the alphabetically first policy wins"), generation);
    }
}
