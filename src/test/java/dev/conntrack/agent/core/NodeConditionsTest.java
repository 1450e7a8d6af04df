package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.IoFailure;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class NodeConditionsTest {
    private static final DropRate QUIET = new DropRate(Duration.ofSeconds(1), OptionalLong.of(0), OptionalDouble.of(0), OptionalLong.of(0));
    private static final DropRate DROPPING = new DropRate(Duration.ofSeconds(1), OptionalLong.of(57000), OptionalDouble.of(57000), OptionalLong.of(10));

    private static ApplyReport report(Mode mode, KeyResult... results) {
        return new ApplyReport(mode, List.of(results), Map.of());
    }

    private static KeyResult would(ConntrackKey key, String value) {
        return new KeyResult(key, KeyOutcome.WouldChange, value, "262144", "262144", null, null);
    }

    private static KeyResult applied(ConntrackKey key, String value) {
        return new KeyResult(key, KeyOutcome.Applied, value, "1", value, null, null);
    }

    private static Map<String, Condition> byType(List<Condition> conditions) {
        return conditions.stream().collect(Collectors.toMap(Condition::getType, Function.identity()));
    }

    @Test
    void healthyEnforcedNode() {
        Map<String, Condition> c = byType(NodeConditions.evaluate(report(Mode.Enforce, applied(ConntrackKey.MAX, "131072")),
                OptionalDouble.of(12.5), QUIET, 80, 3L));

        assertThat(c).containsOnlyKeys("Applied", "Degraded", "TableFull", "Pressure");
        assertThat(c.get("Applied")).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "SettingsApplied");
        assertThat(c.get("Applied").getMessage()).contains("max=131072");
        assertThat(c.get("Degraded")).extracting(Condition::getStatus, Condition::getReason).containsExactly("False", "AsExpected");
        assertThat(c.get("TableFull")).extracting(Condition::getStatus, Condition::getReason).containsExactly("False", "NoDrops");
        assertThat(c.get("Pressure")).extracting(Condition::getStatus, Condition::getReason).containsExactly("False", "UsageNormal");
        assertThat(c.values()).allSatisfy(x -> {
            assertThat(x.getObservedGeneration()).isEqualTo(3L);
            assertThat(x.getLastTransitionTime()).isNull();
        });
    }

    @Test
    void refusedWriteIsDegradedWithKeyValueAndErrno() {
        KeyResult refused = new KeyResult(ConntrackKey.MAX, KeyOutcome.Failed, "1048576", "262144", "262144",
                new IoFailure(FailureReason.ReadOnlyFileSystem, "Read-only file system"), null);
        Map<String, Condition> c = byType(NodeConditions.evaluate(report(Mode.Enforce, refused), OptionalDouble.of(1), QUIET, 80, 1L));

        assertThat(c.get("Applied")).extracting(Condition::getStatus, Condition::getReason).containsExactly("False", "WriteRefused");
        assertThat(c.get("Degraded")).extracting(Condition::getStatus, Condition::getReason, Condition::getMessage)
                .containsExactly("True", "WriteRefused", "max=1048576: ReadOnlyFileSystem (Read-only file system)");
    }

    @Test
    void observeOnlyIsItsOwnReason() {
        KeyResult would = new KeyResult(ConntrackKey.MAX, KeyOutcome.WouldChange, "1048576", "262144", "262144", null, null);
        Condition pending = NodeConditions.applied(report(Mode.ObserveOnly, would), 1L);
        assertThat(pending).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "ObserveOnly");
        assertThat(pending.getMessage()).contains("would change");
        assertThat(pending.getMessage()).contains("max=1048576");

        KeyResult same = new KeyResult(ConntrackKey.MAX, KeyOutcome.AlreadyCorrect, "262144", "262144", "262144", null, null);
        assertThat(NodeConditions.applied(report(Mode.ObserveOnly, same), 1L))
                .extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "ObserveOnly");
    }

    @Test
    void observeOnlyOverValuesThisAgentWroteEarlierDoesNotLookUntouched() {
        KeyResult same = new KeyResult(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.AlreadyCorrect, "30", "30", "30", null, null);
        ApplyReport untouched = new ApplyReport(Mode.ObserveOnly, List.of(same), Map.of());
        assertThat(NodeConditions.applied(untouched, 1L).getMessage()).isEqualTo("observe only: the live values already match the spec");

        ApplyReport writtenEarlier = new ApplyReport(Mode.ObserveOnly, List.of(same), Map.of(ConntrackKey.TCP_TIME_WAIT, "120"));
        Condition applied = NodeConditions.applied(writtenEarlier, 1L);
        assertThat(applied).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "ObserveOnly");
        assertThat(applied.getMessage()).contains("wrote them earlier under Enforce").contains("tcpTimeWait=120")
                .doesNotContain("already match");
    }

    @Test
    void overrideLeftAsFoundIsExternalOverrideAndReappliedIsStillApplied() {
        ExternalOverride kept = new ExternalOverride(ConntrackKey.MAX, "1048576", "131072", false);
        KeyResult left = new KeyResult(ConntrackKey.MAX, KeyOutcome.ExternalOverride, "1048576", "131072", "131072", null, kept);
        Condition reportOnly = NodeConditions.applied(report(Mode.Enforce, left), 1L);
        assertThat(reportOnly).extracting(Condition::getStatus, Condition::getReason).containsExactly("False", "ExternalOverride");
        assertThat(reportOnly.getMessage()).contains("max").contains("131072").contains("1048576");

        ExternalOverride again = new ExternalOverride(ConntrackKey.MAX, "1048576", "131072", true);
        KeyResult reapplied = new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "1048576", "131072", "1048576", null, again);
        Condition reapply = NodeConditions.applied(report(Mode.Enforce, reapplied), 1L);
        assertThat(reapply).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "SettingsApplied");
        assertThat(reapply.getMessage()).contains("re-applied");
    }

    @Test
    void dropsAndUsage() {
        Map<String, Condition> c = byType(NodeConditions.evaluate(report(Mode.Enforce), OptionalDouble.of(100.0), DROPPING, 80, 1L));
        assertThat(c.get("TableFull")).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "DropsRising");
        assertThat(c.get("Pressure")).extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "UsageAboveWarning");

        assertThat(NodeConditions.pressure(OptionalDouble.of(80.0), 80, 1L).getStatus()).isEqualTo("True");
        assertThat(NodeConditions.pressure(OptionalDouble.of(79.9), 80, 1L).getStatus()).isEqualTo("False");
        assertThat(NodeConditions.pressure(OptionalDouble.empty(), 80, 1L))
                .extracting(Condition::getStatus, Condition::getReason).containsExactly("Unknown", "UsageUnavailable");
    }

    @Test
    void kernelLogAloneAndUnknownDrops() {
        DropRate logOnly = new DropRate(Duration.ofSeconds(1), OptionalLong.empty(), OptionalDouble.empty(), OptionalLong.of(3));
        assertThat(NodeConditions.tableFull(logOnly, 1L))
                .extracting(Condition::getStatus, Condition::getReason).containsExactly("True", "TableFullLogged");
        assertThat(NodeConditions.tableFull(DropRate.UNKNOWN, 1L))
                .extracting(Condition::getStatus, Condition::getReason).containsExactly("Unknown", "DropsUnavailable");
    }

    @Test
    void anAgentCappedToObserveOnlyHasNotAppliedAnEnforcingSpec() {
        List<Condition> observed = NodeConditions.evaluate(report(Mode.ObserveOnly, would(ConntrackKey.MAX, "131072")),
                OptionalDouble.of(10), DropRate.UNKNOWN, 80, 1L);

        Condition applied = dev.conntrack.api.Conditions.find(
                NodeConditions.cappedToObserveOnly(observed, report(Mode.ObserveOnly, would(ConntrackKey.MAX, "131072")), 1L), "Applied");

        assertThat(applied.getStatus()).isEqualTo("False");
        assertThat(applied.getReason()).isEqualTo("AgentObserveOnly");
        assertThat(applied.getMessage()).contains("max=131072");
        // Nothing pending: the live values already match, so the node has what the spec asks for.
        List<Condition> same = NodeConditions.evaluate(report(Mode.ObserveOnly), OptionalDouble.of(10), DropRate.UNKNOWN, 80, 1L);
        assertThat(NodeConditions.cappedToObserveOnly(same, report(Mode.ObserveOnly), 1L)).isEqualTo(same);
    }

    @Test
    void appliedSaysWhatIsInEffectOrThatNothingWasAskedFor() {
        assertThat(NodeConditions.applied(report(Mode.Enforce), 1L).getMessage()).isEqualTo("no conntrack settings requested for this node");
        Condition two = NodeConditions.applied(report(Mode.Enforce, applied(ConntrackKey.MAX, "131072"),
                applied(ConntrackKey.TCP_TIME_WAIT, "30")), 1L);
        assertThat(two.getMessage()).isEqualTo("in effect: max=131072, tcpTimeWait=30");
    }

    @Test
    void pressureNamesTheAutoRaiseBoundOnlyWhenThereIsPressure() {
        List<Condition> pressured = NodeConditions.evaluate(report(Mode.Enforce), OptionalDouble.of(95), QUIET, 80, 4L);
        dev.conntrack.api.AutoRaiseStatus status = new dev.conntrack.api.AutoRaiseStatus();
        status.setMessage("ceiling 400000 reached at max 400000 with 390000 entries");

        Map<String, Condition> ceiling = byType(NodeConditions.withAutoRaiseLimit(pressured, AutoRaisePlanner.Limit.Ceiling, status, 4L));
        assertThat(ceiling.get("Pressure")).extracting(Condition::getStatus, Condition::getReason, Condition::getMessage)
                .containsExactly("True", "CeilingReached", "auto-raise stopped: ceiling 400000 reached at max 400000 with 390000 entries");
        assertThat(ceiling.get("Pressure").getObservedGeneration()).isEqualTo(4L);
        assertThat(ceiling.get("Applied")).isEqualTo(byType(pressured).get("Applied"));
        Map<String, Condition> budget = byType(NodeConditions.withAutoRaiseLimit(pressured, AutoRaisePlanner.Limit.MemoryBudget, null, 4L));
        assertThat(budget.get("Pressure")).extracting(Condition::getReason, Condition::getMessage)
                .containsExactly("MemoryBudgetReached", "auto-raise stopped: MemoryBudgetReached");

        assertThat(NodeConditions.withAutoRaiseLimit(pressured, AutoRaisePlanner.Limit.None, status, 4L)).isEqualTo(pressured);
        List<Condition> room = NodeConditions.evaluate(report(Mode.Enforce), OptionalDouble.of(50), QUIET, 80, 4L);
        assertThat(NodeConditions.withAutoRaiseLimit(room, AutoRaisePlanner.Limit.Ceiling, status, 4L)).isEqualTo(room);
    }

    @Test
    void tableFullNamesTheDroppingNamespaceOnlyWhenATableIsFull() {
        String where = " in network namespace net:[4026532300] (pid 200)";
        List<Condition> full = NodeConditions.evaluate(report(Mode.Enforce), OptionalDouble.of(10), DROPPING, 80, 2L);
        Map<String, Condition> named = byType(NodeConditions.namingNamespace(full, where, 2L));
        assertThat(named.get("TableFull")).extracting(Condition::getStatus, Condition::getReason, Condition::getMessage)
                .containsExactly("True", "DropsRising", "packets dropped because a conntrack table is full" + where);
        assertThat(named.get("Pressure")).isEqualTo(byType(full).get("Pressure"));

        assertThat(NodeConditions.namingNamespace(full, "", 2L)).isEqualTo(full);
        assertThat(NodeConditions.namingNamespace(full, null, 2L)).isEqualTo(full);
        List<Condition> quiet = NodeConditions.evaluate(report(Mode.Enforce), OptionalDouble.of(10), QUIET, 80, 2L);
        assertThat(NodeConditions.namingNamespace(quiet, where, 2L)).isEqualTo(quiet);
    }

    @Test
    void messagesDoNotChangeFromPollToPoll() {
        DropRate otherDrops = new DropRate(Duration.ofMillis(1003), OptionalLong.of(12), OptionalDouble.of(11.9), OptionalLong.of(0));
        ApplyReport r = report(Mode.Enforce, applied(ConntrackKey.MAX, "131072"));
        List<Condition> a = NodeConditions.evaluate(r, OptionalDouble.of(91.2), DROPPING, 80, 1L);
        List<Condition> b = NodeConditions.evaluate(r, OptionalDouble.of(97.4), otherDrops, 80, 1L);
        assertThat(dev.conntrack.api.Conditions.same(a, b)).isTrue();
    }
}
