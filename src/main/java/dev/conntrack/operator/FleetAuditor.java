package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.FleetAudit;
import dev.conntrack.api.Mode;
import dev.conntrack.api.TableUsage;
import dev.conntrack.api.ValueSpread;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * ObserveOnly as a fleet audit: from the node states of the selected nodes, how many would change
 * under Enforce (their agent reports pending values) and the spread of what they run today:
 * nf_conntrack_max (status.current.max), buckets (status.usage.buckets) and usage (whole percent,
 * so that traffic noise does not rewrite the policy status). Only nodes whose spec carries the
 * policy's current generation and whose agent reported that spec count: anything else describes
 * settings the policy no longer has. A node whose agent recorded originals holds values it wrote
 * earlier under Enforce: it is counted apart ({@code changedEarlierNodes}), so an audit started
 * after an Enforce policy had its way does not report the fleet as untouched. Stateless and thread-safe.
 */
public class FleetAuditor {

    /** The audit for an ObserveOnly policy, or null for any other mode. */
    public FleetAudit audit(ConntrackPolicy policy, Collection<ConntrackNodeState> states) {
        if (policy.getSpec() == null || policy.getSpec().getMode() != Mode.ObserveOnly) {
            return null;
        }
        Long generation = policy.getMetadata() == null ? null : policy.getMetadata().getGeneration();
        String name = PolicyMerger.name(policy);
        int reported = 0;
        List<Long> max = new ArrayList<>();
        List<Long> buckets = new ArrayList<>();
        List<Long> usage = new ArrayList<>();
        int wouldChange = 0;
        int changedEarlier = 0;
        for (ConntrackNodeState state : states) {
            if (!reportsCurrent(state, name, generation)) {
                continue;
            }
            reported++;
            ConntrackNodeStateStatus status = state.getStatus();
            if (status.getOriginals() != null && !status.getOriginals().isEmpty()) {
                changedEarlier++;
            }
            if (status.getPending() == null || status.getPending().isEmpty()) {
                continue;
            }
            wouldChange++;
            Long currentMax = number(status.getCurrent() == null ? null : status.getCurrent().get("max"));
            if (currentMax != null) {
                max.add(currentMax);
            }
            TableUsage table = status.getUsage();
            if (table != null && table.getBuckets() != null) {
                buckets.add(table.getBuckets());
            }
            if (table != null && table.getUsagePercent() != null) {
                usage.add(Math.round(table.getUsagePercent()));
            }
        }
        FleetAudit audit = new FleetAudit();
        audit.setReportedNodes(reported);
        audit.setWouldChangeNodes(wouldChange);
        audit.setChangedEarlierNodes(changedEarlier);
        audit.setMax(spread(max));
        audit.setBuckets(spread(buckets));
        audit.setUsagePercent(spread(usage));
        return audit;
    }

    /** min, lower median, max; null for no values. */
    static ValueSpread spread(List<Long> values) {
        if (values.isEmpty()) {
            return null;
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return new ValueSpread(sorted.get(0), sorted.get((sorted.size() - 1) / 2), sorted.get(sorted.size() - 1));
    }

    private static boolean reportsCurrent(ConntrackNodeState state, String policyName, Long policyGeneration) {
        ConntrackNodeStateStatus status = state.getStatus();
        Long generation = state.getMetadata() == null ? null : state.getMetadata().getGeneration();
        Map<String, Long> built = state.getSpec() == null ? null : state.getSpec().getPolicyGenerations();
        return status != null && generation != null && generation.equals(status.getObservedGeneration())
                && built != null && policyGeneration != null && policyGeneration.equals(built.get(policyName));
    }

    private static Long number(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
