package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.FleetAudit;
import dev.conntrack.api.Mode;
import dev.conntrack.api.TableUsage;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class FleetAuditorTest {
    private static final Instant T0 = Instant.parse("2026-03-01T10:00:00Z");

    private final FleetAuditor auditor = new FleetAuditor();

    @Test
    void countsTheNodesThatWouldChangeAndSpreadsWhatTheyRunToday() {
        ConntrackPolicy p = observeOnly("audit", 3);
        List<ConntrackNodeState> states = List.of(
                node("a", p, 65536, 16384, 10.4, Map.of("max", "1048576")),
                node("b", p, 262144, 65536, 91.6, Map.of("max", "1048576", "tcpTimeWait", "30")),
                node("c", p, 131072, 32768, 50.0, Map.of("max", "1048576")),
                node("d", p, 1048576, 262144, 99.0, Map.of()),          // already there
                node("e", p, 32768, 8192, 80.0, Map.of("max", "1048576")));

        FleetAudit audit = auditor.audit(p, states);

        assertThat(audit.getReportedNodes()).isEqualTo(5);
        assertThat(audit.getWouldChangeNodes()).isEqualTo(4);
        // a, b, c, e: 32768 65536 131072 262144 -> lower median 65536
        assertThat(audit.getMax().getMin()).isEqualTo(32768L);
        assertThat(audit.getMax().getMedian()).isEqualTo(65536L);
        assertThat(audit.getMax().getMax()).isEqualTo(262144L);
        assertThat(audit.getBuckets().getMedian()).isEqualTo(16384L);
        // 10.4 -> 10, 91.6 -> 92, 50, 80: sorted 10 50 80 92
        assertThat(audit.getUsagePercent().getMin()).isEqualTo(10L);
        assertThat(audit.getUsagePercent().getMedian()).isEqualTo(50L);
        assertThat(audit.getUsagePercent().getMax()).isEqualTo(92L);
    }

    @Test
    void aNodeHoldingValuesItsAgentWroteEarlierIsNotCountedAsUntouched() {
        ConntrackPolicy p = observeOnly("audit", 3);
        ConntrackNodeState untouched = node("untouched", p, 262144, 65536, 1.0, Map.of("tcpTimeWait", "30"));
        // Enforce wrote tcpTimeWait before the audit: nothing pending, but the original is recorded.
        ConntrackNodeState writtenEarlier = node("written", p, 262144, 65536, 1.0, Map.of());
        writtenEarlier.getStatus().setOriginals(Map.of("tcpTimeWait", "120"));

        FleetAudit audit = auditor.audit(p, List.of(untouched, writtenEarlier));

        assertThat(audit.getReportedNodes()).isEqualTo(2);
        assertThat(audit.getWouldChangeNodes()).isEqualTo(1);
        assertThat(audit.getChangedEarlierNodes()).isEqualTo(1);
    }

    @Test
    void nodesThatHaveNotReportedThisGenerationAreLeftOut() {
        ConntrackPolicy p = observeOnly("audit", 3);
        ConntrackNodeState stale = node("stale", p, 65536, 16384, 10.0, Map.of("max", "1"));
        stale.getStatus().setObservedGeneration(1L); // the node state is at generation 2
        ConntrackNodeState heldBack = node("held", p, 65536, 16384, 10.0, Map.of("max", "1"));
        heldBack.getSpec().setPolicyGenerations(new TreeMap<>(Map.of("audit", 2L)));
        ConntrackNodeState noStatus = PolicyStatusAggregatorTest.state("new", 1, null);

        FleetAudit audit = auditor.audit(p, List.of(stale, heldBack, noStatus));

        assertThat(audit.getReportedNodes()).isZero();
        assertThat(audit.getWouldChangeNodes()).isZero();
        assertThat(audit.getMax()).isNull();
    }

    @Test
    void onlyObserveOnlyPoliciesAreAudited() {
        ConntrackPolicy enforce = PolicyStatusAggregatorTest.policy("p", 1);
        enforce.getSpec().setMode(Mode.Enforce);
        assertThat(auditor.audit(enforce, List.of())).isNull();
        assertThat(auditor.audit(PolicyStatusAggregatorTest.policy("p", 1), List.of())).isNull();
    }

    @Test
    void theAggregatorCarriesTheAuditAndTheStatusStaysSmallAtFiveThousandNodes() {
        ConntrackPolicy p = observeOnly("audit", 3);
        List<ConntrackNodeState> states = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            states.add(node(String.format("node-with-a-long-name-for-the-size-check-%05d", i), p,
                    65536L * (1 + i % 7), 16384L * (1 + i % 3), i % 100, Map.of("max", "1048576")));
        }

        ConntrackPolicyStatus status = new PolicyStatusAggregator().aggregate(p, states, T0).orElseThrow();

        assertThat(status.getAudit().getWouldChangeNodes()).isEqualTo(5000);
        assertThat(status.getAudit().getMax().getMax()).isEqualTo(7 * 65536L);
        assertThat(Serialization.asJson(status).getBytes(StandardCharsets.UTF_8).length).isLessThan(16 * 1024);
        // Same input, same status: nothing to write.
        p.setStatus(status);
        assertThat(new PolicyStatusAggregator().aggregate(p, states, T0)).isEmpty();
    }

    private static ConntrackPolicy observeOnly(String name, long generation) {
        ConntrackPolicy p = PolicyStatusAggregatorTest.policy(name, generation);
        p.getSpec().setMode(Mode.ObserveOnly);
        return p;
    }

    /** A node that took the policy's generation and reported it, with its table and what Enforce would write. */
    private static ConntrackNodeState node(String name, ConntrackPolicy p, long max, long buckets, double usage,
            Map<String, String> pending) {
        ConntrackNodeState s = PolicyStatusAggregatorTest.state(name, 2, 2, "Applied");
        s.getSpec().setPolicyGenerations(new TreeMap<>(Map.of(p.getMetadata().getName(), p.getMetadata().getGeneration())));
        s.getStatus().setCurrent(Map.of("max", Long.toString(max)));
        TableUsage table = new TableUsage();
        table.setMax(max);
        table.setBuckets(buckets);
        table.setUsagePercent(usage);
        s.getStatus().setUsage(table);
        s.getStatus().setPending(pending.isEmpty() ? null : pending);
        return s;
    }
}
