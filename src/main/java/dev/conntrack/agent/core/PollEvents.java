package dev.conntrack.agent.core;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.kernel.TableSnapshot;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/**
 * The Kubernetes Events a poll announces, from what it found and did: transitions of TableFull,
 * Pressure and Degraded, settings applied and restored, overrides, notrack changes, raises. Pure;
 * the agent queues them for its Node. Keeps one bit between polls: whether notrack was failing,
 * so a failure is announced once, not every poll.
 */
public final class PollEvents {
    public static final String TABLE_FULL = "ConntrackTableFull";
    public static final String PRESSURE = "ConntrackPressure";
    public static final String APPLIED = "ConntrackApplied";
    public static final String EXTERNAL_OVERRIDE = "ConntrackExternalOverride";
    public static final String RESTORED = "ConntrackRestored";
    public static final String APPLY_FAILED = "ConntrackApplyFailed";
    public static final String AUTO_RAISED = "ConntrackAutoRaised";
    public static final String EXPLAINED = "ConntrackPressureExplained";
    public static final String NOTRACK_INSTALLED = "ConntrackNotrackInstalled";
    public static final String NOTRACK_REMOVED = "ConntrackNotrackRemoved";

    /** One Event: Warning or Normal, its reason and message. */
    public record Event(boolean warning, String reason, String message) {
    }

    private boolean notrackFailing;

    public List<Event> of(PollCycle.Outcome outcome, Enforcer.Result done, NodeSample sample) {
        List<Event> events = new ArrayList<>(2);
        transitions(events, outcome, done.settings(), sample);
        keyResults(events, done.settings());
        notrack(events, done.notrack());
        outcome.raised().ifPresent(m -> events.add(new Event(false, AUTO_RAISED, m)));
        return events;
    }

    /** The notrack failure message when it starts failing in this poll (announced and counted once). */
    public String notrackFailureStarted() {
        return notrackFailureStarted;
    }

    private String notrackFailureStarted;

    private void transitions(List<Event> events, PollCycle.Outcome outcome, ApplyReport report, NodeSample sample) {
        List<Condition> before = outcome.before();
        List<Condition> after = outcome.status().getConditions();
        if (flippedToTrue(before, after, NodeConditionTypes.TABLE_FULL)) {
            DropRate rate = outcome.rate();
            events.add(new Event(true, TABLE_FULL, "conntrack table full, dropping packets: " + rate.dropsDelta().orElse(0)
                    + " drops in the last " + rate.interval().toMillis() + " ms" + tableText(sample.table())
                    + sample.namespaces().droppingText()));
        }
        if (flippedToTrue(before, after, NodeConditionTypes.PRESSURE)) {
            events.add(new Event(true, PRESSURE, "conntrack table usage above the warning level" + tableText(sample.table())));
        }
        if (report.degraded() && flippedToTrue(before, after, NodeConditionTypes.DEGRADED)) {
            events.add(new Event(true, APPLY_FAILED, report.degradedMessage()));
        }
    }

    private static void keyResults(List<Event> events, ApplyReport report) {
        List<String> applied = new ArrayList<>();
        List<String> restored = new ArrayList<>();
        for (KeyResult r : report.results()) {
            if (r.outcome() == KeyOutcome.Applied) {
                applied.add(r.fieldName() + "=" + r.after() + " (was " + r.before() + ")");
            } else if (r.outcome() == KeyOutcome.Restored) {
                restored.add(r.fieldName() + "=" + r.after() + " (was " + r.before() + ")");
            }
            if (r.override() != null) {
                events.add(new Event(true, EXTERNAL_OVERRIDE, r.override().toString()));
            }
        }
        if (!applied.isEmpty()) {
            events.add(new Event(false, APPLIED, "applied " + String.join(", ", applied)));
        }
        if (!restored.isEmpty()) {
            events.add(new Event(false, RESTORED, "restored original " + String.join(", ", restored)));
        }
    }

    private void notrack(List<Event> events, NotrackEnforcer.Outcome outcome) {
        if (outcome.installed() != null) {
            events.add(new Event(false, NOTRACK_INSTALLED, outcome.installed()));
        }
        if (outcome.removed() != null) {
            events.add(new Event(false, NOTRACK_REMOVED, outcome.removed()));
        }
        if (outcome.override() != null) {
            events.add(new Event(true, EXTERNAL_OVERRIDE, outcome.override()));
        }
        notrackFailureStarted = null;
        if (outcome.failed() && !notrackFailing) {
            notrackFailureStarted = "notrack rules not installed: " + outcome.failure();
            events.add(new Event(true, APPLY_FAILED, notrackFailureStarted));
        }
        notrackFailing = outcome.failed();
    }

    private static boolean flippedToTrue(List<Condition> before, List<Condition> after, String type) {
        return !Conditions.isTrue(before, type) && Conditions.isTrue(after, type);
    }

    private static String tableText(TableSnapshot t) {
        return t.count().isPresent() && t.max().isPresent()
                ? " (" + t.count().getAsLong() + " of " + t.max().getAsLong() + " entries)" : "";
    }
}
