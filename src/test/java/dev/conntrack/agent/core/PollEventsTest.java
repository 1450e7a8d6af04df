package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.core.PollEvents.Event;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.IoFailure;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The Kubernetes Events one poll announces: on transitions and on what the pass did, each once. */
class PollEventsTest {
    private static final DropRate FULL = new DropRate(Duration.ofSeconds(1), OptionalLong.of(5000), OptionalDouble.of(5000), OptionalLong.of(0));
    private static final ApplyReport NOTHING = new ApplyReport(Mode.Enforce, List.of(), Map.of());

    private final PollEvents events = new PollEvents();

    private static PollCycle.Outcome outcome(List<Condition> before, List<Condition> after, Optional<String> raised) {
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setConditions(after);
        return new PollCycle.Outcome(status, before, FULL, raised, Duration.ofSeconds(1), false, CountWatch.DISARMED);
    }

    private static List<Condition> conditions(boolean tableFull, boolean pressure, boolean degraded) {
        return List.of(Conditions.of("TableFull", tableFull, "r", "m", 1L), Conditions.of("Pressure", pressure, "r", "m", 1L),
                Conditions.of("Degraded", degraded, "r", "m", 1L));
    }

    private List<Event> poll(PollCycle.Outcome outcome, ApplyReport report, NotrackEnforcer.Outcome notrack, NodeSample sample) {
        return events.of(outcome, new Enforcer.Result(report, notrack), sample);
    }

    @Test
    void aTableTurningFullOrUnderPressureIsAnnouncedOnceWithTheTable() {
        NodeSample sample = PollCycleTest.sample(0, 1000, 1000, 0);
        List<Event> first = poll(outcome(conditions(false, false, false), conditions(true, true, false), Optional.empty()),
                NOTHING, NotrackEnforcer.Outcome.NONE, sample);
        assertThat(first).containsExactly(
                new Event(true, PollEvents.TABLE_FULL, "conntrack table full, dropping packets: 5000 drops in the last 1000 ms (1000 of 1000 entries)"),
                new Event(true, PollEvents.PRESSURE, "conntrack table usage above the warning level (1000 of 1000 entries)"));

        assertThat(poll(outcome(conditions(true, true, false), conditions(true, true, false), Optional.empty()),
                NOTHING, NotrackEnforcer.Outcome.NONE, sample)).as("still full: no new Event").isEmpty();

        NodeSample countUnknown = sample.withTable(new dev.conntrack.kernel.TableSnapshot(OptionalLong.empty(), OptionalLong.of(1000),
                OptionalLong.of(250), List.of()));
        assertThat(new PollEvents().of(outcome(conditions(false, false, false), conditions(false, true, false), Optional.empty()),
                new Enforcer.Result(NOTHING, NotrackEnforcer.Outcome.NONE), countUnknown)).containsExactly(
                new Event(true, PollEvents.PRESSURE, "conntrack table usage above the warning level"));
    }

    @Test
    void aRefusedWriteIsAnnouncedWhenTheNodeTurnsDegradedButAnotherCauseIsNot() {
        KeyResult refused = new KeyResult(ConntrackKey.MAX, KeyOutcome.Failed, "1048576", "262144", "262144",
                new IoFailure(FailureReason.ReadOnlyFileSystem, "Read-only file system"), null);
        ApplyReport degraded = new ApplyReport(Mode.Enforce, List.of(refused), Map.of());
        NodeSample sample = PollCycleTest.sample(0, 10, 262144, 0);

        assertThat(poll(outcome(conditions(false, false, false), conditions(false, false, true), Optional.empty()), degraded,
                NotrackEnforcer.Outcome.NONE, sample)).containsExactly(
                new Event(true, PollEvents.APPLY_FAILED, "max=1048576: ReadOnlyFileSystem (Read-only file system)"));
        assertThat(poll(outcome(conditions(false, false, false), conditions(false, false, true), Optional.empty()), NOTHING,
                NotrackEnforcer.Outcome.NONE, sample)).as("Degraded for an invalid spec: its own status, no apply Event").isEmpty();
    }

    @Test
    void whatThePassWroteRestoredOrFoundChanged() {
        ExternalOverride override = new ExternalOverride(ConntrackKey.TCP_CLOSE_WAIT, "60", "3600", true);
        ApplyReport report = new ApplyReport(Mode.Enforce, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "131072", "262144", "131072", null, null),
                new KeyResult(ConntrackKey.TCP_TIME_WAIT, KeyOutcome.Restored, "120", "30", "120", null, null),
                new KeyResult(ConntrackKey.TCP_CLOSE_WAIT, KeyOutcome.Applied, "60", "3600", "60", null, override),
                new KeyResult(ConntrackKey.BUCKETS, KeyOutcome.AlreadyCorrect, "65536", "65536", "65536", null, null)), Map.of());

        List<Event> announced = poll(outcome(List.of(), List.of(), Optional.of("raised max 1000 -> 6251")), report,
                NotrackEnforcer.Outcome.NONE, PollCycleTest.sample(0, 10, 262144, 0));

        assertThat(announced).containsExactly(
                new Event(true, PollEvents.EXTERNAL_OVERRIDE, "tcpCloseWait: set to 3600 outside the agent (we wrote 60), re-applied"),
                new Event(false, PollEvents.APPLIED, "applied max=131072 (was 262144), tcpCloseWait=60 (was 3600)"),
                new Event(false, PollEvents.RESTORED, "restored original tcpTimeWait=120 (was 30)"),
                new Event(false, PollEvents.AUTO_RAISED, "raised max 1000 -> 6251"));
    }

    @Test
    void notrackInstallsRemovalsAndDriftAreAnnouncedAndAFailureOnlyWhenItStarts() {
        NodeSample sample = PollCycleTest.sample(0, 10, 262144, 0);
        PollCycle.Outcome quiet = outcome(List.of(), List.of(), Optional.empty());
        NotrackStatus installed = new NotrackStatus();
        assertThat(poll(quiet, NOTHING, new NotrackEnforcer.Outcome(installed, 4, null, false, "installed 4 rules", null,
                "table changed outside the agent; reinstalled"), sample)).containsExactly(
                new Event(false, PollEvents.NOTRACK_INSTALLED, "installed 4 rules"),
                new Event(true, PollEvents.EXTERNAL_OVERRIDE, "table changed outside the agent; reinstalled"));
        assertThat(poll(quiet, NOTHING, new NotrackEnforcer.Outcome(null, 0, null, false, null, "removed table", null), sample))
                .containsExactly(new Event(false, PollEvents.NOTRACK_REMOVED, "removed table"));

        NotrackEnforcer.Outcome failing = new NotrackEnforcer.Outcome(installed, 0, "nft: Operation not permitted", false, null, null, null);
        assertThat(poll(quiet, NOTHING, failing, sample)).containsExactly(
                new Event(true, PollEvents.APPLY_FAILED, "notrack rules not installed: nft: Operation not permitted"));
        assertThat(events.notrackFailureStarted()).isEqualTo("notrack rules not installed: nft: Operation not permitted");
        assertThat(poll(quiet, NOTHING, failing, sample)).as("still failing: said once").isEmpty();
        assertThat(events.notrackFailureStarted()).isNull();
        poll(quiet, NOTHING, NotrackEnforcer.Outcome.NONE, sample);
        assertThat(poll(quiet, NOTHING, failing, sample)).as("failing again after it worked").hasSize(1);
    }
}
