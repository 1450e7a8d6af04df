package dev.conntrack.agent.core;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Defaults;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.NodeConditionTypes.Reasons;
import dev.conntrack.api.TableExplanation;
import dev.conntrack.kernel.Durations;
import dev.conntrack.kernel.TableMemory;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * One poll of the agent as a pure function of what the poll read: {@link #decide} turns the spec
 * and the sample into what the enforcer must do (mode, kernel values, auto-raise's floor, notrack
 * rules); {@link #evaluate} turns the sample and what the enforcer did into conditions, the
 * status, the Events to announce and the time to the next poll. No I/O and no threads: the state
 * it keeps between polls (the previous sample, the conditions, auto-raise's raises) is plain data.
 */
public final class PollCycle {
    /** Per agent: the local observe-only cap and the version reported. */
    public record Config(boolean forceObserveOnly, String version) {
    }

    /**
     * What a poll ends with.
     *
     * @param before    the conditions before this poll (for the Events of transitions)
     * @param raised    auto-raise's message when it raised in this poll
     * @param pressure  usage at the warning percent or the table full: worth a table listing
     * @param watch     what the count watcher should look for until the next poll
     */
    public record Outcome(ConntrackNodeStateStatus status, List<Condition> before, DropRate rate, Optional<String> raised,
                          Duration next, boolean pressure, CountWatch watch) {
    }

    private final Config config;
    private final AutoRaise autoRaise = new AutoRaise();
    private final DropWindow dropWindow = new DropWindow();
    private PollSample previous;
    private DropRate rate = DropRate.UNKNOWN;
    private List<Condition> conditions = List.of();
    private Instant lastTableFull;
    private ConntrackSettings valuesFor;
    private DesiredValues values = DesiredValues.NONE;
    private String pollIntervalText;
    private Duration pollIntervalParsed;

    public PollCycle(Config config) {
        this.config = Objects.requireNonNull(config, "config");
    }

    /** What the one enforcer must do in this poll; SPEC null: the spec is not known yet. */
    public Enforcer.Intent decide(ConntrackNodeStateSpec spec, NodeSample sample, boolean maxOriginalRecorded) {
        DropRate newest = DropRate.between(previous, sample.poll());
        previous = sample.poll();
        // Drops anywhere on the node (pods, NAT namespaces) count, not only the node's own table.
        rate = nodeWide(newest, sample.namespaces().otherDropsDelta());
        if (spec == null) {
            autoRaise.floor(null, DesiredValues.NONE, maxOriginalRecorded, observation(sample), objectSize(sample), Mode.ObserveOnly);
            return Enforcer.Intent.UNKNOWN;
        }
        Mode mode = config.forceObserveOnly() ? Mode.ObserveOnly : Defaults.mode(spec.getMode());
        ConntrackSettings settings = spec.getConntrack();
        if (settings != valuesFor) {
            // The spec object stays the same until it changes (it is never modified in place): its
            // durations are parsed once, not on every poll.
            values = DesiredValues.of(settings);
            valuesFor = settings;
        }
        DesiredValues withFloor = autoRaise.floor(settings, values, maxOriginalRecorded, observation(sample), objectSize(sample), mode);
        return new Enforcer.Intent(true, withFloor, mode, Defaults.driftPolicy(spec.getDriftPolicy()),
                settings == null ? null : settings.getNotrack());
    }

    /** Conditions, status, announcements and pacing, from the sample (read again if the enforcer wrote) and what the enforcer did. */
    public Outcome evaluate(ConntrackNodeStateSpec spec, Long generation, NodeSample sample, Enforcer.Result done,
            TableExplanation explanation, Instant now) {
        return evaluate(spec, generation, sample, done, explanation, null, null, now);
    }

    /**
     * {@link #evaluate}, with why the newest spec was refused (REFUSED) and what of the originals
     * file could not be read (DAMAGED), either null: each makes the node Degraded.
     */
    public Outcome evaluate(ConntrackNodeStateSpec spec, Long generation, NodeSample sample, Enforcer.Result done,
            TableExplanation explanation, String refused, String damaged, Instant now) {
        Optional<String> raised = autoRaise.settle(done.settings(), now);
        if (rate.tableFull()) {
            lastTableFull = now;
        }
        sample.log().lastTableFull().ifPresent(t -> {
            if (lastTableFull == null || t.isAfter(lastTableFull)) {
                lastTableFull = t;
            }
        });
        // Conditions judge the configured interval, however fast the poll runs under pressure.
        Duration configured = configuredPollInterval(spec);
        DropRate judged = dropWindow.forConditions(rate, sample.poll().monotonicNanos(), configured);
        int warning = Defaults.usageWarningPercent(spec == null ? null : spec.getMonitoring());
        ApplyReport report = done.settings();
        List<Condition> fresh = NodeConditions.evaluate(report, sample.poll().usagePercent(), judged, warning, generation);
        if (config.forceObserveOnly() && spec != null && spec.getMode() != Mode.ObserveOnly) {
            fresh = NodeConditions.cappedToObserveOnly(fresh, report, generation);
        }
        fresh = NodeConditions.withNotrack(fresh, done.notrack(), config.forceObserveOnly() && spec != null
                && spec.getMode() != Mode.ObserveOnly, generation);
        fresh = NodeConditions.withAutoRaiseLimit(fresh, autoRaise.limitedBy(), autoRaise.status(), generation);
        fresh = NodeConditions.namingNamespace(fresh, sample.namespaces().droppingText(), generation);
        fresh = NodeConditions.degradedBy(fresh, Reasons.INVALID_SPEC, refused, generation);
        fresh = NodeConditions.degradedBy(fresh, Reasons.ORIGINALS_DAMAGED, damaged, generation);
        List<Condition> before = conditions;
        conditions = Conditions.merge(before, fresh, now);

        ConntrackNodeStateStatus status = StatusBuilder.status(generation, conditions, report, sample, judged, sample.objectSize());
        status.setNotrack(done.notrack().status());
        status.setLastTableFullTime(lastTableFull == null ? null : lastTableFull.truncatedTo(java.time.temporal.ChronoUnit.SECONDS).toString());
        status.setAutoRaise(autoRaise.status());
        status.setExplanation(explanation);
        status.setAgentVersion(config.version());
        boolean pressure = Conditions.isTrue(conditions, NodeConditionTypes.PRESSURE)
                || Conditions.isTrue(conditions, NodeConditionTypes.TABLE_FULL);
        Duration next = PollPacing.next(configured, sample.poll().usagePercent(), warning, judged.tableFull());
        CountWatch watch = CountWatch.after(sample, autoRaise, warning, configured,
                Conditions.isTrue(conditions, NodeConditionTypes.TABLE_FULL));
        return new Outcome(status, before, judged, raised, next, pressure, watch);
    }

    /** The newest conditions (for tests and the table listing). */
    public List<Condition> conditions() {
        return conditions;
    }

    private AutoRaise.Observation observation(NodeSample sample) {
        return new AutoRaise.Observation(sample.count(), sample.max(), sample.buckets(), sample.growthPerSecond(), rate.tableFull());
    }

    private static long objectSize(NodeSample sample) {
        return sample.objectSize().isPresent() ? sample.objectSize().getAsInt() : TableMemory.DEFAULT_OBJECT_SIZE;
    }

    /** The node's own drop rate plus the drops of every other namespace in the same interval. */
    static DropRate nodeWide(DropRate initial, long otherDropsDelta) {
        if (otherDropsDelta == 0) {
            return initial;
        }
        long delta = initial.dropsDelta().orElse(0) + otherDropsDelta;
        Duration interval = initial.interval().isZero() ? Duration.ofSeconds(1) : initial.interval();
        return new DropRate(interval, java.util.OptionalLong.of(delta),
                java.util.OptionalDouble.of(delta * 1e9 / interval.toNanos()), initial.tableFullLogLinesDelta());
    }

    /** The spec's poll interval, parsed again only when its text changes (exact decimal parsing is not free). */
    private Duration configuredPollInterval(ConntrackNodeStateSpec spec) {
        String text = spec == null || spec.getMonitoring() == null ? null : spec.getMonitoring().getPollInterval();
        if (pollIntervalParsed == null || !Objects.equals(text, pollIntervalText)) {
            pollIntervalParsed = pollInterval(text);
            pollIntervalText = text;
        }
        return pollIntervalParsed;
    }

    /** The spec's pollInterval text as a duration; the default when it is absent or unreadable. */
    public static Duration pollInterval(String text) {
        if (text == null) {
            return Defaults.pollInterval();
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            return Defaults.pollInterval();
        }
    }
}
