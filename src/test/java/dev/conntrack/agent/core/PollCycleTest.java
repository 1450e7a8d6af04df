package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsParser;
import dev.conntrack.kernel.KmsgSnapshot;
import dev.conntrack.kernel.StatsReading;
import dev.conntrack.kernel.TableSnapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The poll cycle without I/O: samples in, intents, conditions, status, Events and pacing out. */
class PollCycleTest {
    private static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");
    private static final String HEADER = "entries  found new invalid ignore delete insert insert_failed drop early_drop\n";

    private final PollCycle cycle = new PollCycle(new PollCycle.Config(false, "test"));

    static NodeSample sample(long nanos, long count, long max, long drops) {
        ConntrackStats stats = new ConntrackStatsParser().parse(HEADER
                + String.format("%08x  0 0 0 0 0 0 0 %08x 0%n", count, drops));
        TableSnapshot table = new TableSnapshot(OptionalLong.of(count), OptionalLong.of(max), OptionalLong.of(max / 4), List.of());
        return new NodeSample(new PollSample(nanos, Optional.of(stats), table, OptionalLong.of(0)),
                new StatsReading(Optional.of(stats), List.of()), KmsgSnapshot.EMPTY, Optional.empty(), NodeSample.Namespaces.NONE, 0, OptionalInt.of(256));
    }

    static ConntrackNodeStateSpec spec(int max, boolean autoscale) {
        ConntrackNodeStateSpec spec = new ConntrackNodeStateSpec();
        spec.setConntrack(AutoRaiseTest.settings(autoscale, max));
        return spec;
    }

    /** What the enforcer would report for values that are all in the kernel already. */
    private static Enforcer.Result inKernel(Enforcer.Intent intent) {
        List<KeyResult> results = intent.values().values().entrySet().stream()
                .map(e -> new KeyResult(e.getKey(), KeyOutcome.AlreadyCorrect, e.getValue(), e.getValue(), e.getValue(), null, null))
                .toList();
        return new Enforcer.Result(new ApplyReport(intent.mode(), results, Map.of()), NotrackEnforcer.Outcome.NONE);
    }

    private PollCycle.Outcome poll(ConntrackNodeStateSpec spec, NodeSample sample) {
        Enforcer.Intent intent = cycle.decide(spec, sample, false);
        return cycle.evaluate(spec, 1L, sample, inKernel(intent), null, NOW);
    }

    @Test
    void anUnknownSpecWritesAndRestoresNothing() {
        assertThat(cycle.decide(null, sample(0, 10, 262144, 0), true)).isSameAs(Enforcer.Intent.UNKNOWN);
        assertThat(Enforcer.Intent.UNKNOWN.mode()).isEqualTo(Mode.ObserveOnly);
        assertThat(Enforcer.Intent.UNKNOWN.specKnown()).isFalse();
    }

    @Test
    void theSpecBecomesKernelValuesWithTheContractsDefaults() {
        Enforcer.Intent intent = cycle.decide(spec(131072, false), sample(0, 10, 262144, 0), false);
        assertThat(intent.values().values()).containsExactly(Map.entry(ConntrackKey.MAX, "131072"));
        assertThat(intent.mode()).isEqualTo(Mode.Enforce);
        assertThat(intent.drift()).isEqualTo(DriftPolicy.Reapply);
    }

    @Test
    void autoRaiseIsAFloorInTheSameIntentNotAWriteOfItsOwn() {
        // max 1000 with autoscale: too small to defend by watching, raised at once to keep the storm's headroom.
        Enforcer.Intent intent = cycle.decide(spec(1000, true), sample(0, 0, 1000, 0), false);
        assertThat(intent.values().number(ConntrackKey.MAX)).isEqualTo(6251);

        PollCycle capped = new PollCycle(new PollCycle.Config(true, "test"));
        Enforcer.Intent observed = capped.decide(spec(1000, true), sample(0, 0, 1000, 0), false);
        assertThat(observed.mode()).isEqualTo(Mode.ObserveOnly);
        assertThat(observed.values().number(ConntrackKey.MAX)).as("observe-only plans no raise").isEqualTo(1000);
    }

    @Test
    void dropsBetweenTwoPollsTurnTableFullOnAndPaceThePollsUp() {
        ConntrackNodeStateSpec spec = spec(1000, false);
        PollCycle.Outcome quiet = poll(spec, sample(0, 10, 1000, 7));
        assertThat(Conditions.isTrue(quiet.status().getConditions(), NodeConditionTypes.TABLE_FULL)).isFalse();
        assertThat(quiet.next()).isEqualTo(Duration.ofSeconds(1));

        PollCycle.Outcome full = poll(spec, sample(Duration.ofSeconds(1).toNanos(), 1000, 1000, 5007));
        assertThat(Conditions.find(full.status().getConditions(), NodeConditionTypes.TABLE_FULL).getReason()).isEqualTo("DropsRising");
        assertThat(full.status().getLastTableFullTime()).isEqualTo("2026-11-25T10:00:00Z");
        assertThat(full.status().getCounters().getDropsPerSecond()).isEqualTo(5000.0);
        assertThat(full.next()).isEqualTo(PollPacing.UNDER_PRESSURE);
        assertThat(full.watch().tableFull()).as("no drop wake-ups while TableFull is reported").isTrue();
        assertThat(full.watch().armed()).as("without auto-raise, a table known full needs no watching").isFalse();
        assertThat(quiet.watch().armed()).as("a 1,000-entry table: a storm fills it before the next poll").isTrue();

        // 200 ms later, no new drop: within the configured interval the episode's figures hold,
        // in the conditions and in status.counters alike (as the status reporter and the operator read them).
        PollCycle.Outcome held = poll(spec, sample(Duration.ofMillis(1200).toNanos(), 10, 1000, 5007));
        assertThat(Conditions.isTrue(held.status().getConditions(), NodeConditionTypes.TABLE_FULL)).isTrue();
        assertThat(held.status().getCounters().getDropsPerSecond()).isEqualTo(5000.0);
        assertThat(held.next()).as("and the poll stays fast while TableFull holds").isEqualTo(PollPacing.UNDER_PRESSURE);

        List<PollEvents.Event> events = new PollEvents().of(full, inKernel(cycle.decide(spec, sample(0, 1000, 1000, 5007), false)),
                sample(0, 1000, 1000, 5007));
        assertThat(events).extracting(PollEvents.Event::reason).contains(PollEvents.TABLE_FULL, PollEvents.PRESSURE);
    }

    @Test
    void theCountWatcherRunsOnlyWhereAStormCouldFillTheTableBeforeTheNextPoll() {
        assertThat(poll(spec(262144, false), sample(0, 0, 262144, 0)).watch().armed()).isFalse();
        assertThat(new PollCycle(new PollCycle.Config(false, "t")).evaluate(spec(131072, false), 1L,
                sample(0, 0, 131072, 0), inKernel(cycle.decide(spec(131072, false), sample(0, 0, 131072, 0), false)), null, NOW)
                .watch().armed()).isTrue();
        ConntrackNodeStateSpec slow = spec(262144, false);
        slow.setMonitoring(new MonitoringSpec());
        slow.getMonitoring().setPollInterval("2s");
        assertThat(new PollCycle(new PollCycle.Config(false, "t")).evaluate(slow, 1L,
                sample(0, 0, 262144, 0), inKernel(cycle.decide(slow, sample(0, 0, 262144, 0), false)), null, NOW)
                .watch().armed()).as("a 2 s poll leaves time for a storm").isTrue();
        // With auto-raise it always runs, and asks for a poll when a raise is due.
        CountWatch raising = poll(spec(100_000, true), sample(0, 0, 100_000, 0)).watch();
        assertThat(raising.armed()).isTrue();
        assertThat(raising.raiseDue(85_000, 0)).isTrue();
        assertThat(raising.raiseDue(1_000, 0)).isFalse();
    }

    @Test
    void aRefusedSpecAndADamagedOriginalsFileMakeTheNodeDegradedSayingWhy() {
        ConntrackNodeStateSpec spec = spec(131072, false);
        Enforcer.Intent intent = cycle.decide(spec, sample(0, 10, 131072, 0), false);
        PollCycle.Outcome outcome = cycle.evaluate(spec, 1L, sample(0, 10, 131072, 0), inKernel(intent), null,
                "spec of generation 2 refused, generation 1 still enforced: monitoring.pollInterval: \"0s\" is outside 100ms..1m",
                "originals file damaged: line 3: bad value for max", NOW);
        var degraded = Conditions.find(outcome.status().getConditions(), NodeConditionTypes.DEGRADED);
        assertThat(degraded.getStatus()).isEqualTo("True");
        assertThat(degraded.getReason()).isEqualTo("InvalidSpec");
        assertThat(degraded.getMessage()).contains("generation 2 refused").contains("originals file damaged");
    }

    @Test
    void theStatusCarriesTheVersionTheExplanationNotrackAndAutoRaise() {
        PollCycle versioned = new PollCycle(new PollCycle.Config(false, "1.2.3"));
        ConntrackNodeStateSpec spec = spec(1000, true);
        NodeSample s = sample(0, 0, 1000, 0);
        Enforcer.Result done = inKernel(versioned.decide(spec, s, false));
        dev.conntrack.api.NotrackStatus notrack = new dev.conntrack.api.NotrackStatus();
        notrack.setState(dev.conntrack.api.NotrackStatus.INSTALLED);
        dev.conntrack.api.TableExplanation explanation = new dev.conntrack.api.TableExplanation();
        explanation.setEntries(1000L);

        PollCycle.Outcome out = versioned.evaluate(spec, 1L, s,
                new Enforcer.Result(done.settings(), new NotrackEnforcer.Outcome(notrack, 4, null, false, null, null, null)),
                explanation, NOW);

        assertThat(out.status().getAgentVersion()).isEqualTo("1.2.3");
        assertThat(out.status().getExplanation()).isSameAs(explanation);
        assertThat(out.status().getNotrack()).isSameAs(notrack);
        assertThat(out.status().getAutoRaise().getMax()).isEqualTo(6251L);
        assertThat(out.raised()).hasValueSatisfying(m -> assertThat(m).startsWith("raised max 1000 -> 6251"));
        assertThat(out.status().getLastTableFullTime()).as("never full").isNull();
        assertThat(versioned.conditions()).isEqualTo(out.status().getConditions());
    }

    @Test
    void pressureIsUsageAtTheWarningOrAFullTable() {
        assertThat(poll(spec(262144, false), sample(0, 1000, 262144, 0)).pressure()).isFalse();
        assertThat(new PollCycle(new PollCycle.Config(false, "t")).evaluate(spec(262144, false), 1L, sample(0, 240_000, 262144, 0),
                inKernel(cycle.decide(spec(262144, false), sample(0, 240_000, 262144, 0), false)), null, NOW).pressure()).isTrue();
        ConntrackNodeStateSpec spec = spec(262144, false);
        poll(spec, sample(0, 10, 262144, 7));
        assertThat(poll(spec, sample(Duration.ofSeconds(1).toNanos(), 10, 262144, 5007)).pressure()).as("drops").isTrue();
    }

    @Test
    void anAgentCappedToObserveOnlyReportsNotAppliedForAnEnforcingSpecOnly() {
        PollCycle capped = new PollCycle(new PollCycle.Config(true, "t"));
        ConntrackNodeStateSpec enforcing = spec(131072, false);
        NodeSample s = sample(0, 10, 262144, 0);
        capped.decide(enforcing, s, false);
        Enforcer.Result wouldWrite = new Enforcer.Result(new ApplyReport(Mode.ObserveOnly, List.of(new KeyResult(ConntrackKey.MAX,
                KeyOutcome.WouldChange, "131072", "262144", "262144", null, null)), Map.of()), NotrackEnforcer.Outcome.NONE);
        var applied = Conditions.find(capped.evaluate(enforcing, 1L, s, wouldWrite, null, NOW)
                .status().getConditions(), NodeConditionTypes.APPLIED);
        assertThat(applied.getReason()).isEqualTo("AgentObserveOnly");

        ConntrackNodeStateSpec observing = spec(131072, false);
        observing.setMode(Mode.ObserveOnly);
        capped.decide(observing, s, false);
        var observed = Conditions.find(capped.evaluate(observing, 1L, s, wouldWrite, null, NOW)
                .status().getConditions(), NodeConditionTypes.APPLIED);
        assertThat(observed.getStatus()).isEqualTo("True");
        assertThat(observed.getReason()).isEqualTo("ObserveOnly");

        // Only notrack rules pending: still not applied while the agent is capped.
        dev.conntrack.api.NotrackStatus pending = new dev.conntrack.api.NotrackStatus();
        pending.setState(dev.conntrack.api.NotrackStatus.PENDING);
        pending.setMessage("observe only, would install 4 rules for udp 53");
        Enforcer.Result rulesPending = new Enforcer.Result(new ApplyReport(Mode.ObserveOnly, List.of(), Map.of()),
                new NotrackEnforcer.Outcome(pending, 0, null, false, null, null, null));
        capped.decide(enforcing, s, false);
        var notrackOnly = Conditions.find(capped.evaluate(enforcing, 1L, s, rulesPending, null, NOW).status().getConditions(),
                NodeConditionTypes.APPLIED);
        assertThat(notrackOnly.getStatus()).isEqualTo("False");
        assertThat(notrackOnly.getReason()).isEqualTo("AgentObserveOnly");
    }

    @Test
    void dropsInAnotherNamespaceAreTheNodesDropsAndNameIt() {
        ConntrackNodeStateSpec spec = spec(262144, false);
        poll(spec, sample(0, 10, 262144, 7));
        NodeSample own = sample(Duration.ofSeconds(2).toNanos(), 10, 262144, 7);
        NodeSample withPod = new NodeSample(own.poll(), own.reading(), own.log(), Optional.empty(),
                new NodeSample.Namespaces(300, " in network namespace net:[4026532300] (pid 200)", null, null), 0, OptionalInt.of(256));

        PollCycle.Outcome out = poll(spec, withPod);

        var tableFull = Conditions.find(out.status().getConditions(), NodeConditionTypes.TABLE_FULL);
        assertThat(tableFull.getStatus()).isEqualTo("True");
        assertThat(tableFull.getMessage()).endsWith(" in network namespace net:[4026532300] (pid 200)");
        assertThat(out.status().getCounters().getDropsPerSecond()).as("300 drops in 2 s").isEqualTo(150.0);
    }

    @Test
    void aTableFullLineInTheKernelLogIsTheLastTableFullTimeWhenNewer() {
        ConntrackNodeStateSpec spec = spec(262144, false);
        NodeSample s = sample(0, 10, 262144, 0);
        Instant logged = Instant.parse("2026-11-25T09:59:30Z");
        NodeSample withLog = new NodeSample(s.poll(), s.reading(), new KmsgSnapshot(1, 0, 0, 0, 0, Optional.of(logged)),
                Optional.empty(), NodeSample.Namespaces.NONE, 0, OptionalInt.of(256));
        assertThat(poll(spec, withLog).status().getLastTableFullTime()).isEqualTo("2026-11-25T09:59:30Z");

        // Drops seen at NOW are newer than that line: the line does not move the time back.
        NodeSample dropping = sample(Duration.ofSeconds(1).toNanos(), 10, 262144, 500);
        NodeSample droppingWithOldLog = new NodeSample(dropping.poll(), dropping.reading(), withLog.log(), Optional.empty(),
                NodeSample.Namespaces.NONE, 0, OptionalInt.of(256));
        assertThat(poll(spec, droppingWithOldLog).status().getLastTableFullTime()).isEqualTo("2026-11-25T10:00:00Z");
    }

    @Test
    void thePolicysPollIntervalPacesThePollsAndFollowsItsEdits() {
        ConntrackNodeStateSpec spec = spec(262144, false);
        spec.setMonitoring(new MonitoringSpec());
        spec.getMonitoring().setPollInterval("2s");
        assertThat(poll(spec, sample(0, 10, 262144, 0)).next()).isEqualTo(Duration.ofSeconds(2));
        spec.getMonitoring().setPollInterval("500ms");
        assertThat(poll(spec, sample(1, 10, 262144, 0)).next()).isEqualTo(Duration.ofMillis(500));
        spec.setMonitoring(null);
        assertThat(poll(spec, sample(2, 10, 262144, 0)).next()).isEqualTo(Duration.ofSeconds(1));

        assertThat(PollCycle.pollInterval("250ms")).isEqualTo(Duration.ofMillis(250));
        assertThat(PollCycle.pollInterval("soon")).as("unreadable: the default").isEqualTo(Duration.ofSeconds(1));
        assertThat(PollCycle.pollInterval(null)).isEqualTo(Duration.ofSeconds(1));
    }

    @Test
    void notrackRulesGoToTheEnforcerAndASpecWithoutConntrackIsFine() {
        ConntrackNodeStateSpec spec = spec(131072, false);
        List<dev.conntrack.api.NotrackRule> rules = List.of(new dev.conntrack.api.NotrackRule(dev.conntrack.api.NotrackProtocol.udp, 53, null, null));
        spec.getConntrack().setNotrack(rules);
        assertThat(cycle.decide(spec, sample(0, 10, 262144, 0), false).notrack()).isEqualTo(rules);

        Enforcer.Intent none = cycle.decide(new ConntrackNodeStateSpec(), sample(1, 10, 262144, 0), false);
        assertThat(none.notrack()).isNull();
        assertThat(none.values().values()).isEmpty();
        // No spec yet: conditions with the default warning, nothing applied.
        PollCycle.Outcome unknown = cycle.evaluate(null, null, sample(2, 250_000, 262144, 0),
                new Enforcer.Result(new ApplyReport(Mode.ObserveOnly, List.of(), Map.of()), NotrackEnforcer.Outcome.NONE), null, NOW);
        assertThat(unknown.pressure()).as("95% is above the default 90%").isTrue();
    }

    @Test
    void withoutTheObjectSizeAMemoryBudgetIsJudgedAtTheDefaultSize() {
        // Entries of 320 B (the default) and 20,000 buckets of 16 B: a 32Mi budget holds max at 103,857, short of the step to 160,000.
        ConntrackNodeStateSpec spec = spec(80_000, true);
        spec.getConntrack().getAutoscale().setMemoryBudget("32Mi");
        NodeSample s = sample(0, 79_000, 80_000, 0);
        NodeSample unknownSize = new NodeSample(s.poll(), s.reading(), s.log(), Optional.empty(), NodeSample.Namespaces.NONE, 0,
                OptionalInt.empty());
        long max = cycle.decide(spec, unknownSize, false).values().number(ConntrackKey.MAX);
        assertThat(max).isEqualTo(103_857);
        assertThat(dev.conntrack.kernel.TableMemory.estimate(max, 20_000, 320)).isLessThanOrEqualTo(32L << 20);
        assertThat(dev.conntrack.kernel.TableMemory.estimate(max + 1, 20_000, 320)).isGreaterThan(32L << 20);
    }
}
