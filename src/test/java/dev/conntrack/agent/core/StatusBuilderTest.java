package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NamespaceSummary;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsParser;
import dev.conntrack.kernel.KmsgSnapshot;
import dev.conntrack.kernel.StatsReading;
import dev.conntrack.kernel.TableSnapshot;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

/** The node state status one poll writes, field by field (what `kubectl get ctns -o yaml` shows). */
class StatusBuilderTest {
    private static final ConntrackStats STATS = new ConntrackStatsParser().parse(
            "entries  found new invalid ignore delete insert insert_failed drop early_drop\n"
                    + String.format("%08x  0 0 %08x 0 0 0 %08x %08x %08x%n", 1000, 4, 3, 57000, 2));
    private static final List<Condition> CONDITIONS = List.of(Conditions.of("TableFull", true, "DropsRising", "full", 7L));

    private static NodeSample sample(NodeSample.Namespaces namespaces, List<String> tableUnavailable, List<String> readingUnavailable,
            Optional<String> logUnavailable) {
        TableSnapshot table = new TableSnapshot(OptionalLong.of(1000), OptionalLong.of(3000), OptionalLong.of(1024), tableUnavailable);
        return new NodeSample(new PollSample(0, Optional.of(STATS), table, OptionalLong.of(0)),
                new StatsReading(Optional.of(STATS), readingUnavailable), new KmsgSnapshot(5, 2, 4, 0, 0, Optional.empty()),
                logUnavailable, namespaces, 0, OptionalInt.of(256));
    }

    @Test
    void everyFieldOfOnePoll() {
        ApplyReport report = new ApplyReport(Mode.Enforce, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.Applied, "3000", "262144", "3000", null, null)),
                Map.of(ConntrackKey.MAX, "262144"));
        DropRate rate = new DropRate(Duration.ofSeconds(3), OptionalLong.of(1000), OptionalDouble.of(333.333), OptionalLong.of(0));

        ConntrackNodeStateStatus status = StatusBuilder.status(7L, CONDITIONS, report,
                sample(NodeSample.Namespaces.NONE, List.of(), List.of(), Optional.empty()), rate, OptionalInt.of(256));

        assertThat(status.getObservedGeneration()).isEqualTo(7L);
        assertThat(status.getConditions()).isEqualTo(CONDITIONS);
        assertThat(status.getUsage().getEntries()).isEqualTo(1000L);
        assertThat(status.getUsage().getMax()).isEqualTo(3000L);
        assertThat(status.getUsage().getBuckets()).isEqualTo(1024L);
        assertThat(status.getUsage().getUsagePercent()).isEqualTo(33.3);
        assertThat(status.getUsage().getEstimatedMemoryBytes()).isEqualTo(3000L * 256 + 1024L * 16);
        assertThat(status.getCounters().getDrop()).isEqualTo(57000L);
        assertThat(status.getCounters().getEarlyDrop()).isEqualTo(2L);
        assertThat(status.getCounters().getInsertFailed()).isEqualTo(3L);
        assertThat(status.getCounters().getInvalid()).isEqualTo(4L);
        assertThat(status.getCounters().getTableFullLogLines()).as("printed and attributed suppressed lines").isEqualTo(7L);
        assertThat(status.getCounters().getDropAllNamespaces()).as("no other namespace: the node's own").isEqualTo(57000L);
        assertThat(status.getCounters().getDropsPerSecond()).isEqualTo(333.3);
        assertThat(status.getCurrent()).containsExactly(Map.entry("max", "3000"));
        assertThat(status.getOriginals()).containsExactly(Map.entry("max", "262144"));
        assertThat(status.getPending()).isNull();
        assertThat(status.getNamespaces()).isNull();
        assertThat(status.getUnavailableSignals()).isNull();
    }

    @Test
    void otherNamespacesPendingValuesAndWhatCouldNotBeRead() {
        ApplyReport observing = new ApplyReport(Mode.ObserveOnly, List.of(
                new KeyResult(ConntrackKey.MAX, KeyOutcome.WouldChange, "3000", "262144", "262144", null, null)), Map.of());
        NamespaceSummary pod = new NamespaceSummary();
        NodeSample.Namespaces namespaces = new NodeSample.Namespaces(10, "", 60_000L, List.of(pod));

        ConntrackNodeStateStatus status = StatusBuilder.status(7L, CONDITIONS, observing,
                sample(namespaces, List.of("nf_conntrack_buckets: unreadable"), List.of("conntrack -S: not installed"),
                        Optional.of("/dev/kmsg: permission denied")), DropRate.UNKNOWN, OptionalInt.empty());

        assertThat(status.getCounters().getDropAllNamespaces()).isEqualTo(60_000L);
        assertThat(status.getCounters().getDropsPerSecond()).isNull();
        assertThat(status.getNamespaces()).containsExactly(pod);
        assertThat(status.getPending()).containsExactly(Map.entry("max", "3000"));
        assertThat(status.getOriginals()).isNull();
        assertThat(status.getUsage().getEstimatedMemoryBytes()).as("at the default object size").isEqualTo(3000L * 320 + 1024L * 16);
        assertThat(status.getUnavailableSignals()).containsExactly("nf_conntrack_buckets: unreadable", "conntrack -S: not installed",
                "/dev/kmsg: permission denied");
    }

    @Test
    void noCurrentValuesIsNoField() {
        ConntrackNodeStateStatus status = StatusBuilder.status(1L, CONDITIONS, new ApplyReport(Mode.Enforce, List.of(), Map.of()),
                sample(NodeSample.Namespaces.NONE, List.of(), List.of(), Optional.empty()), DropRate.UNKNOWN, OptionalInt.of(256));
        assertThat(status.getCurrent()).isNull();
    }
}
