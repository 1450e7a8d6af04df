package dev.conntrack.agent.core;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.NodeConditionTypes.Reasons;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;
import java.util.OptionalDouble;
import java.util.stream.Collectors;

/**
 * Turns one apply pass and the latest poll into the node's four conditions. lastTransitionTime is
 * left empty here: {@link dev.conntrack.api.Conditions#merge} sets it against the previous status. Messages carry no
 * per-poll numbers (those are in status.usage and status.counters), so conditions stay equal from
 * poll to poll and the status write can be skipped.
 *
 * <ul>
 * <li>Applied: True/SettingsApplied when every desired value is live (also after re-applying an
 *     external override: the message says so); False/WriteRefused when a key failed;
 *     False/ExternalOverride when drift was left in place (driftPolicy Report); ObserveOnly
 *     reports True with reason ObserveOnly, naming what it would change.</li>
 * <li>Degraded: True/WriteRefused with key, value and errno text of every failure, else False/AsExpected.</li>
 * <li>TableFull: True/DropsRising when drop rose in the last interval, True/TableFullLogged when only
 *     the kernel log showed it, False/NoDrops, Unknown/DropsUnavailable without counters.</li>
 * <li>Pressure: True/UsageAboveWarning at or above the warning percent, False/UsageNormal,
 *     Unknown/UsageUnavailable without count and max.</li>
 * </ul>
 */
public final class NodeConditions {
    private static final String APPLIED = NodeConditionTypes.APPLIED;
    private static final String DEGRADED = NodeConditionTypes.DEGRADED;
    private static final String TABLE_FULL = NodeConditionTypes.TABLE_FULL;
    private static final String PRESSURE = NodeConditionTypes.PRESSURE;
    private static final String TRUE = Conditions.TRUE;
    private static final String FALSE = Conditions.FALSE;
    private static final String UNKNOWN = Conditions.UNKNOWN;

    private NodeConditions() {
    }

    public static List<Condition> evaluate(ApplyReport apply, OptionalDouble usagePercent, DropRate rate,
                                           int usageWarningPercent, Long observedGeneration) {
        return List.of(
                applied(apply, observedGeneration),
                degraded(apply, observedGeneration),
                tableFull(rate == null ? DropRate.UNKNOWN : rate, observedGeneration),
                pressure(usagePercent, usageWarningPercent, observedGeneration));
    }

    /**
     * The Applied condition of an agent capped to observe-only on its node (the quick start without
     * --enforce) while the spec asks for Enforce: the node has not applied what it should, so the
     * policy must not look Ready.
     */
    public static List<Condition> cappedToObserveOnly(List<Condition> conditions, ApplyReport apply, Long generation) {
        if (apply.pending().isEmpty()) {
            return conditions;
        }
        return conditions.stream()
                .map(c -> APPLIED.equals(c.getType())
                        ? condition(APPLIED, FALSE, Reasons.AGENT_OBSERVE_ONLY, "the agent on this node is started observe-only "
                                + "and writes nothing; would change: " + describe(apply.pending()), generation)
                        : c)
                .toList();
    }

    /**
     * Folds the notrack rules into Applied and Degraded: rules nft could not install make the node
     * Degraded (reason NotrackFailed, or appended to a sysctl failure) and not Applied; rules left
     * changed under driftPolicy Report make it not Applied (ExternalOverride), as for a sysctl;
     * rules an observe-only agent would install while the spec says Enforce make it not Applied
     * (AgentObserveOnly). Conditions about sysctls alone are returned as they are.
     */
    public static List<Condition> withNotrack(List<Condition> conditions, NotrackEnforcer.Outcome notrack,
            boolean agentObserveOnly, Long generation) {
        if (notrack == null || notrack.status() == null) {
            return conditions;
        }
        String state = notrack.status().getState();
        String message = notrack.status().getMessage();
        return conditions.stream().map(c -> {
            boolean isTrue = TRUE.equals(c.getStatus());
            if (notrack.failed() && DEGRADED.equals(c.getType())) {
                return isTrue ? condition(DEGRADED, TRUE, c.getReason(), c.getMessage() + "; notrack: " + message, generation)
                        : condition(DEGRADED, TRUE, Reasons.NOTRACK_FAILED, "notrack rules not installed: " + message, generation);
            }
            if (!APPLIED.equals(c.getType())) {
                return c;
            }
            if (notrack.failed()) {
                return isTrue ? condition(APPLIED, FALSE, Reasons.NOTRACK_FAILED, "notrack rules not installed: " + message, generation)
                        : condition(APPLIED, FALSE, c.getReason(), c.getMessage() + "; notrack: " + message, generation);
            }
            if (dev.conntrack.api.NotrackStatus.PENDING.equals(state)) {
                if (agentObserveOnly && isTrue) {
                    return condition(APPLIED, FALSE, Reasons.AGENT_OBSERVE_ONLY, "the agent on this node is started observe-only "
                            + "and writes nothing; notrack: " + message, generation);
                }
                if (notrack.leftAsFound()) {
                    return isTrue ? condition(APPLIED, FALSE, Reasons.EXTERNAL_OVERRIDE, "notrack: " + message, generation)
                            : condition(APPLIED, FALSE, c.getReason(), c.getMessage() + "; notrack: " + message, generation);
                }
                return condition(APPLIED, c.getStatus(), c.getReason(), c.getMessage() + "; notrack: " + message, generation);
            }
            return c;
        }).toList();
    }

    static Condition applied(ApplyReport apply, Long generation) {
        if (apply.degraded()) {
            return condition(APPLIED, FALSE, Reasons.WRITE_REFUSED, apply.degradedMessage(), generation);
        }
        if (apply.mode() == Mode.ObserveOnly) {
            if (apply.pending().isEmpty() && !apply.originals().isEmpty()) {
                // Not untouched: they match because this agent wrote them earlier, under Enforce.
                return condition(APPLIED, TRUE, "ObserveOnly", "observe only: the live values match the spec because this agent "
                        + "wrote them earlier under Enforce (originals kept: " + describe(apply.originals()) + ")", generation);
            }
            if (apply.pending().isEmpty()) {
                return condition(APPLIED, TRUE, Reasons.OBSERVE_ONLY, "observe only: the live values already match the spec", generation);
            }
            // Observing is what an ObserveOnly spec asks for: the node has acted on it once it reports.
            return condition(APPLIED, TRUE, Reasons.OBSERVE_ONLY, "observe only, would change: " + describe(apply.pending()), generation);
        }
        List<ExternalOverride> overrides = apply.externalOverrides();
        List<ExternalOverride> leftAsFound = overrides.isEmpty() ? overrides
                : overrides.stream().filter(o -> !o.reapplied()).collect(Collectors.toList());
        if (!leftAsFound.isEmpty()) {
            return condition(APPLIED, FALSE, Reasons.EXTERNAL_OVERRIDE,
                    leftAsFound.stream().map(ExternalOverride::toString).collect(Collectors.joining("; "))
                            + " (driftPolicy Report)", generation);
        }
        String message = apply.current().isEmpty() && apply.results().isEmpty()
                ? "no conntrack settings requested for this node"
                : "in effect: " + describe(apply.current());
        if (!overrides.isEmpty()) {
            message += "; " + overrides.stream().map(ExternalOverride::toString).collect(Collectors.joining("; "));
        }
        return condition(APPLIED, TRUE, Reasons.SETTINGS_APPLIED, message, generation);
    }

    static Condition degraded(ApplyReport apply, Long generation) {
        if (apply.degraded()) {
            return condition(DEGRADED, TRUE, Reasons.WRITE_REFUSED, apply.degradedMessage(), generation);
        }
        return condition(DEGRADED, FALSE, Reasons.AS_EXPECTED, "every managed setting could be read and written", generation);
    }

    static Condition tableFull(DropRate rate, Long generation) {
        if (rate.dropsDelta().orElse(0) > 0) {
            return condition(TABLE_FULL, TRUE, Reasons.DROPS_RISING,
                    "the drop counter rose in the last poll interval: the conntrack table is full (rates in status.counters)", generation);
        }
        if (rate.tableFullLogLinesDelta().orElse(0) > 0) {
            return condition(TABLE_FULL, TRUE, Reasons.TABLE_FULL_LOGGED,
                    "the kernel logged 'table full, dropping packet' in the last poll interval (possibly in a pod's network namespace)",
                    generation);
        }
        if (rate.dropsDelta().isPresent()) {
            return condition(TABLE_FULL, FALSE, Reasons.NO_DROPS, "no drops in the last poll interval", generation);
        }
        return condition(TABLE_FULL, UNKNOWN, Reasons.DROPS_UNAVAILABLE, "drop counters not available yet or unreadable", generation);
    }

    static Condition pressure(OptionalDouble usagePercent, int warningPercent, Long generation) {
        if (usagePercent.isEmpty()) {
            return condition(PRESSURE, UNKNOWN, Reasons.USAGE_UNAVAILABLE, "nf_conntrack_count or nf_conntrack_max unreadable", generation);
        }
        if (usagePercent.getAsDouble() >= warningPercent) {
            return condition(PRESSURE, TRUE, Reasons.USAGE_ABOVE_WARNING,
                    "table usage at or above " + warningPercent + "% of nf_conntrack_max (status.usage)", generation);
        }
        return condition(PRESSURE, FALSE, Reasons.USAGE_NORMAL,
                "table usage below " + warningPercent + "% of nf_conntrack_max", generation);
    }

    /**
     * Degraded=True with REASON and MESSAGE (null: the conditions as they are), for what is wrong
     * besides the kernel writes: a refused spec (InvalidSpec; the last good one stays in force), a
     * damaged originals file (OriginalsDamaged).
     */
    public static List<Condition> degradedBy(List<Condition> conditions, String reason, String message, Long generation) {
        if (message == null) {
            return conditions;
        }
        return conditions.stream()
                .map(c -> !DEGRADED.equals(c.getType()) ? c : TRUE.equals(c.getStatus()) && !reason.equals(c.getReason())
                        ? condition(DEGRADED, TRUE, c.getReason(), c.getMessage() + "; " + message, generation)
                        : condition(DEGRADED, TRUE, reason, message, generation))
                .toList();
    }

    /** Pressure names the bound when auto-raise can go no further and usage is above the warning. */
    public static List<Condition> withAutoRaiseLimit(List<Condition> conditions, AutoRaisePlanner.Limit limit,
            dev.conntrack.api.AutoRaiseStatus status, Long generation) {
        if (limit == AutoRaisePlanner.Limit.None || !Conditions.isTrue(conditions, PRESSURE)) {
            return conditions;
        }
        String reason = limit == AutoRaisePlanner.Limit.Ceiling ? Reasons.CEILING_REACHED : Reasons.MEMORY_BUDGET_REACHED;
        String message = "auto-raise stopped: " + (status == null ? reason : status.getMessage());
        return conditions.stream()
                .map(c -> PRESSURE.equals(c.getType()) ? condition(PRESSURE, TRUE, reason, message, generation) : c)
                .toList();
    }

    /**
     * TableFull names the namespace that drops, when it is not the node's own: WHERE is " in network
     * namespace net:[...] (...)", or "" when the node's own table drops.
     */
    public static List<Condition> namingNamespace(List<Condition> conditions, String where, Long generation) {
        if (where == null || where.isEmpty() || !Conditions.isTrue(conditions, TABLE_FULL)) {
            return conditions;
        }
        Condition tableFull = Conditions.find(conditions, TABLE_FULL);
        String message = "packets dropped because a conntrack table is full" + where;
        return conditions.stream()
                .map(c -> c == tableFull ? condition(TABLE_FULL, TRUE, tableFull.getReason(), message, generation) : c)
                .toList();
    }

    private static String describe(java.util.Map<String, String> values) {
        // A loop, not a stream: this runs on every poll, interpreted for the agent's first minutes.
        StringBuilder text = new StringBuilder();
        for (java.util.Map.Entry<String, String> e : values.entrySet()) {
            if (text.length() > 0) {
                text.append(", ");
            }
            text.append(e.getKey()).append('=').append(e.getValue());
        }
        return text.toString();
    }

    private static Condition condition(String type, String status, String reason, String message, Long generation) {
        return Conditions.create(type, status, reason, message, generation);
    }
}
