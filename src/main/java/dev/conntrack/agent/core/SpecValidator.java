package dev.conntrack.agent.core;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.kernel.Durations;
import io.fabric8.kubernetes.api.model.Quantity;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The agent's own check of a node spec, for objects that slipped past the schema (written before a
 * rule existed, or under an older CRD): the same bounds the CRD has, for the fields whose bad value
 * would hurt the node (a poll interval of 0 burns a core; buckets of a billion try to allocate a
 * huge hash table; a notrack rule without a port cannot be installed). A spec with a problem is
 * refused whole: the agent keeps enforcing the last good one and says why (Degraded, InvalidSpec).
 */
public final class SpecValidator {
    static final Duration MIN_POLL = Duration.ofMillis(100);
    static final Duration MAX_POLL = Duration.ofMinutes(1);

    private SpecValidator() {
    }

    /** What is wrong with SPEC, one line per field; empty when it can be enforced. */
    public static List<String> problems(ConntrackNodeStateSpec spec) {
        List<String> problems = new ArrayList<>();
        if (spec == null) {
            return problems;
        }
        monitoring(spec.getMonitoring(), problems);
        ConntrackSettings s = spec.getConntrack();
        if (s == null) {
            return problems;
        }
        range(problems, "conntrack.max", s.getMax(), 1, Integer.MAX_VALUE);
        range(problems, "conntrack.buckets", s.getBuckets(), 1, ConntrackSettings.MAX_BUCKETS);
        autoscale(s.getAutoscale(), problems);
        if (s.getNotrack() != null) {
            if (s.getNotrack().size() > ConntrackSettings.MAX_NOTRACK_RULES) {
                problems.add("conntrack.notrack: " + s.getNotrack().size() + " rules, at most " + ConntrackSettings.MAX_NOTRACK_RULES);
            }
            for (int i = 0; i < s.getNotrack().size(); i++) {
                NotrackRule r = s.getNotrack().get(i);
                String at = "conntrack.notrack[" + i + "]";
                if (r == null || r.getProtocol() == null || r.getPort() == null) {
                    problems.add(at + ": needs a protocol (udp, tcp) and a port");
                    continue;
                }
                range(problems, at + ".port", r.getPort(), 1, 65535);
                range(problems, at + ".endPort", r.getEndPort(), r.getPort(), 65535);
            }
        }
        return problems;
    }

    private static void monitoring(MonitoringSpec m, List<String> problems) {
        if (m == null) {
            return;
        }
        range(problems, "monitoring.usageWarningPercent", m.getUsageWarningPercent(), 1, 100);
        if (m.getPollInterval() != null) {
            try {
                Duration d = Durations.parse(m.getPollInterval());
                if (d.compareTo(MIN_POLL) < 0 || d.compareTo(MAX_POLL) > 0) {
                    problems.add("monitoring.pollInterval: \"" + m.getPollInterval() + "\" is outside 100ms..1m");
                }
            } catch (IllegalArgumentException e) {
                problems.add("monitoring.pollInterval: " + e.getMessage());
            }
        }
    }

    private static void autoscale(AutoscaleSpec a, List<String> problems) {
        if (a == null) {
            return;
        }
        range(problems, "conntrack.autoscale.highWatermarkPercent", a.getHighWatermarkPercent(), 10, 99);
        range(problems, "conntrack.autoscale.ceiling", a.getCeiling(), 1, Integer.MAX_VALUE);
        if (a.getStep() != null && !(a.getStep() >= 1.1 && a.getStep() <= 16)) {
            problems.add("conntrack.autoscale.step: " + a.getStep() + " is outside 1.1..16");
        }
        if (a.getMemoryBudget() != null) {
            try {
                if (Quantity.getAmountInBytes(new Quantity(a.getMemoryBudget())).signum() <= 0) {
                    problems.add("conntrack.autoscale.memoryBudget: \"" + a.getMemoryBudget() + "\" is not positive");
                }
            } catch (IllegalArgumentException e) {
                problems.add("conntrack.autoscale.memoryBudget: \"" + a.getMemoryBudget() + "\" is not a quantity");
            }
        }
        if (Boolean.TRUE.equals(a.getEnabled()) && a.getCeiling() == null && a.getMemoryBudget() == null) {
            problems.add("conntrack.autoscale: enabled without a ceiling or a memoryBudget (the agent never raises without a bound)");
        }
    }

    private static void range(List<String> problems, String field, Integer value, long min, long max) {
        if (value != null && (value < min || value > max)) {
            problems.add(field + ": " + value + " is outside " + min + ".." + max);
        }
    }
}
