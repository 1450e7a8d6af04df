package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import java.util.Map;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class PolicyMergerTest {

    private final PolicyMerger merger = new PolicyMerger();
    private final Node worker = node("worker-1", "4", "pool", "ingress");

    @Test
    void singlePolicyIsCopiedWithItsSources() {
        ConntrackPolicy p = policy("base", 0, ct -> {
            ct.setMax(262144);
            ct.setTcpTimeWait("30s");
            ct.setTcpBeLiberal(true);
        });

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(p));

        assertThat(spec.getConntrack().getMax()).isEqualTo(262144);
        assertThat(spec.getConntrack().getTcpTimeWait()).isEqualTo("30s");
        assertThat(spec.getConntrack().getTcpBeLiberal()).isTrue();
        assertThat(spec.getConntrack().getBuckets()).isNull();
        assertThat(spec.getMode()).isEqualTo(Mode.Enforce);
        assertThat(spec.getDriftPolicy()).isEqualTo(DriftPolicy.Reapply);
        assertThat(spec.getPolicies()).containsExactly("base");
        assertThat(spec.getSources()).containsOnly(
                entry("conntrack.max", "base"),
                entry("conntrack.tcpTimeWait", "base"),
                entry("conntrack.tcpBeLiberal", "base"),
                entry("mode", "base"),
                entry("driftPolicy", "base"));
        assertThat(spec.getConflicts()).isNull();
        assertThat(spec.getWarnings()).isNull();
        // No policy sets monitoring: the defaults, credited to nobody.
        assertThat(spec.getMonitoring().getUsageWarningPercent()).isEqualTo(80);
        assertThat(spec.getMonitoring().getPollInterval()).isEqualTo("1s");
    }

    @Test
    void overlappingPoliciesResolveFieldByFieldByPriority() {
        ConntrackPolicy fleet = policy("fleet", 0, ct -> {
            ct.setMax(131072);
            ct.setTcpTimeWait("120s");
            ct.setUdp("30s");
        });
        fleet.getSpec().setMonitoring(monitoring(90, "2s"));
        ConntrackPolicy ingress = policy("ingress", 10, ct -> {
            ct.setMax(1048576);
            ct.setTcpTimeWait("30s");
        });
        ingress.getSpec().setMode(Mode.ObserveOnly);
        ingress.getSpec().setNodeSelector(new NodeSelector(Map.of("pool", "ingress"), null));

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(fleet, ingress));

        assertThat(spec.getConntrack().getMax()).isEqualTo(1048576);
        assertThat(spec.getConntrack().getTcpTimeWait()).isEqualTo("30s");
        assertThat(spec.getConntrack().getUdp()).isEqualTo("30s");
        assertThat(spec.getMode()).isEqualTo(Mode.ObserveOnly);
        assertThat(spec.getMonitoring().getUsageWarningPercent()).isEqualTo(90);
        assertThat(spec.getMonitoring().getPollInterval()).isEqualTo("2s");
        assertThat(spec.getPolicies()).containsExactly("ingress", "fleet");
        assertThat(spec.getSources()).contains(
                entry("conntrack.max", "ingress"),
                entry("conntrack.tcpTimeWait", "ingress"),
                entry("conntrack.udp", "fleet"),
                entry("monitoring.usageWarningPercent", "fleet"),
                entry("monitoring.pollInterval", "fleet"),
                entry("mode", "ingress"));
        // Different priorities never conflict.
        assertThat(spec.getConflicts()).isNull();

        // The same policy does not select a node outside its pool.
        ConntrackNodeStateSpec batch = merger.resolve(node("batch-1", "4", "pool", "batch"), List.of(fleet, ingress));
        assertThat(batch.getPolicies()).containsExactly("fleet");
        assertThat(batch.getConntrack().getMax()).isEqualTo(131072);
        assertThat(batch.getMode()).isEqualTo(Mode.Enforce);
    }

    @Test
    void equalPriorityDifferentValuesIsAConflictDecidedByName() {
        ConntrackPolicy zeta = policy("zeta", 5, ct -> ct.setTcpTimeWait("60s"));
        ConntrackPolicy alpha = policy("alpha", 5, ct -> ct.setTcpTimeWait("30s"));
        ConntrackPolicy mid = policy("mid", 5, ct -> ct.setTcpTimeWait("45s"));
        ConntrackPolicy low = policy("low", 1, ct -> ct.setTcpTimeWait("10s"));

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(zeta, low, mid, alpha));

        assertThat(spec.getConntrack().getTcpTimeWait()).isEqualTo("30s");
        assertThat(spec.getSources()).containsEntry("conntrack.tcpTimeWait", "alpha");
        assertThat(spec.getConflicts()).hasSize(1);
        ConflictNote note = spec.getConflicts().get(0);
        assertThat(note.getField()).isEqualTo("conntrack.tcpTimeWait");
        assertThat(note.getWinner()).isEqualTo("alpha");
        // Winner first, then the others by name; the lower-priority policy is not part of it.
        assertThat(note.getPolicies()).containsExactly("alpha", "mid", "zeta");
    }

    @Test
    void equalValuesAreNotAConflict() {
        ConntrackPolicy a = policy("a", 5, ct -> {
            ct.setMax(262144);
            ct.setTcpEstablished("1h");
        });
        ConntrackPolicy b = policy("b", 5, ct -> {
            ct.setMax(262144);
            ct.setTcpEstablished("60m"); // the same duration, spelled differently
        });

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(b, a));

        assertThat(spec.getConflicts()).isNull();
        assertThat(spec.getConntrack().getTcpEstablished()).isEqualTo("1h");
        assertThat(spec.getSources()).containsEntry("conntrack.max", "a");
    }

    @Test
    void equalPriorityModesThatDifferConflict() {
        ConntrackPolicy a = policy("a", 0, ct -> ct.setMax(1000));
        ConntrackPolicy b = policy("b", 0, ct -> ct.setBuckets(256));
        b.getSpec().setMode(Mode.ObserveOnly);

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(a, b));

        assertThat(spec.getMode()).isEqualTo(Mode.Enforce);
        assertThat(spec.getConflicts()).extracting(ConflictNote::getField).containsExactly("mode");
        // Fields only one of them sets are merged without conflict.
        assertThat(spec.getConntrack().getMax()).isEqualTo(1000);
        assertThat(spec.getConntrack().getBuckets()).isEqualTo(256);
    }

    @Test
    void policiesBeingDeletedLeaveTheSpec() {
        ConntrackPolicy base = policy("base", 0, ct -> ct.setMax(131072));
        ConntrackPolicy leaving = policy("leaving", 100, ct -> {
            ct.setMax(999999);
            ct.setUdp("5s");
        });
        leaving.getMetadata().setDeletionTimestamp("2026-01-01T00:00:00Z");

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(base, leaving));

        assertThat(spec.getPolicies()).containsExactly("base");
        assertThat(spec.getConntrack().getMax()).isEqualTo(131072);
        assertThat(spec.getConntrack().getUdp()).isNull();
        assertThat(spec.getSources()).doesNotContainValue("leaving");
    }

    @Test
    void nodeSelectedByNoPolicyOnlyMonitors() {
        ConntrackPolicy gpuOnly = policy("gpu", 0, ct -> ct.setMax(1));
        gpuOnly.getSpec().setNodeSelector(new NodeSelector(Map.of("gpu", "true"), null));

        for (List<ConntrackPolicy> policies : List.of(List.<ConntrackPolicy>of(), List.of(gpuOnly))) {
            ConntrackNodeStateSpec spec = merger.resolve(worker, policies);

            assertThat(spec.getConntrack()).isNull();
            assertThat(spec.getPolicies()).isEmpty();
            assertThat(spec.getSources()).isEmpty();
            assertThat(spec.getMode()).isEqualTo(Mode.Enforce);
            assertThat(spec.getDriftPolicy()).isEqualTo(DriftPolicy.Reapply);
            assertThat(spec.getMonitoring().getUsageWarningPercent()).isEqualTo(80);
            assertThat(spec.getMonitoring().getPollInterval()).isEqualTo("1s");
            assertThat(spec.getConflicts()).isNull();
            assertThat(spec.getWarnings()).isNull();
        }
    }

    @Test
    void maxPerCoreBecomesAnAbsoluteMaxForThisNode() {
        ConntrackPolicy perCore = policy("per-core", 0, ct -> {
            ct.setMaxPerCore(32768);
            ct.setMin(65536);
        });

        ConntrackNodeStateSpec four = merger.resolve(worker, List.of(perCore));
        ConntrackNodeStateSpec one = merger.resolve(node("small", "1", "pool", "x"), List.of(perCore));

        assertThat(four.getConntrack().getMax()).isEqualTo(131072);
        assertThat(one.getConntrack().getMax()).isEqualTo(65536);
        assertThat(four.getConntrack().getMaxPerCore()).isNull();
        assertThat(four.getConntrack().getMin()).isNull();
        assertThat(four.getSources()).containsEntry("conntrack.max", "per-core").doesNotContainKeys("conntrack.maxPerCore", "conntrack.min");
    }

    @Test
    void perCoreMaxCompetesWithAbsoluteMax() {
        ConntrackPolicy absolute = policy("absolute", 3, ct -> ct.setMax(131072));
        ConntrackPolicy perCore = policy("b-per-core", 3, ct -> ct.setMaxPerCore(32768));

        // 4 cores x 32768 = 131072: the same value, no conflict.
        assertThat(merger.resolve(worker, List.of(absolute, perCore)).getConflicts()).isNull();

        // 8 cores: 262144 differs, and "absolute" wins by name.
        ConntrackNodeStateSpec big = merger.resolve(node("big", "8", "pool", "x"), List.of(absolute, perCore));
        assertThat(big.getConntrack().getMax()).isEqualTo(131072);
        assertThat(big.getConflicts()).singleElement().satisfies(n -> {
            assertThat(n.getField()).isEqualTo("conntrack.max");
            assertThat(n.getPolicies()).containsExactly("absolute", "b-per-core");
        });
    }

    @Test
    void maxPerCoreWithoutCpuCapacityWarnsAndLetsTheNextPolicyWin() {
        Node unknown = new NodeBuilder().withNewMetadata().withName("fresh").endMetadata().build();
        ConntrackPolicy perCore = policy("x", 10, ct -> {
            ct.setMaxPerCore(32768);
            ct.setTcpTimeWait("30s");
        });
        ConntrackPolicy fallback = policy("fallback", 0, ct -> ct.setMax(131072));

        ConntrackNodeStateSpec spec = merger.resolve(unknown, List.of(perCore, fallback));

        assertThat(spec.getWarnings()).containsExactly(
                "policy \"x\": conntrack.maxPerCore needs the Node's CPU capacity; max not set");
        assertThat(spec.getConntrack().getMax()).isEqualTo(131072);
        assertThat(spec.getSources()).containsEntry("conntrack.max", "fallback").containsEntry("conntrack.tcpTimeWait", "x");
    }

    @Test
    void everyFieldIsMerged() {
        ConntrackPolicy all = policy("all", 0, ct -> {
            ct.setMax(1);
            ct.setBuckets(2);
            ct.setTcpEstablished("3s");
            ct.setTcpTimeWait("4s");
            ct.setTcpCloseWait("5s");
            ct.setTcpSynSent("6s");
            ct.setTcpSynRecv("7s");
            ct.setTcpFinWait("8s");
            ct.setUdp("9s");
            ct.setUdpStream("10s");
            ct.setGeneric("11s");
            ct.setTcpBeLiberal(true);
            ct.setTcpLoose(false);
        });
        all.getSpec().setMonitoring(monitoring(50, "500ms"));
        all.getSpec().setDriftPolicy(DriftPolicy.Report);

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(all));

        ConntrackSettings ct = spec.getConntrack();
        assertThat(List.of(ct.getTcpEstablished(), ct.getTcpTimeWait(), ct.getTcpCloseWait(), ct.getTcpSynSent(),
                ct.getTcpSynRecv(), ct.getTcpFinWait(), ct.getUdp(), ct.getUdpStream(), ct.getGeneric()))
                .containsExactly("3s", "4s", "5s", "6s", "7s", "8s", "9s", "10s", "11s");
        assertThat(ct.getMax()).isEqualTo(1);
        assertThat(ct.getBuckets()).isEqualTo(2);
        assertThat(ct.getTcpBeLiberal()).isTrue();
        assertThat(ct.getTcpLoose()).isFalse();
        assertThat(spec.getDriftPolicy()).isEqualTo(DriftPolicy.Report);
        assertThat(spec.getSources()).hasSize(17).containsOnlyKeys(
                "conntrack.max", "conntrack.buckets", "conntrack.tcpEstablished", "conntrack.tcpTimeWait",
                "conntrack.tcpCloseWait", "conntrack.tcpSynSent", "conntrack.tcpSynRecv", "conntrack.tcpFinWait",
                "conntrack.udp", "conntrack.udpStream", "conntrack.generic", "conntrack.tcpBeLiberal",
                "conntrack.tcpLoose", "monitoring.usageWarningPercent", "monitoring.pollInterval", "mode", "driftPolicy");
    }

    @Test
    void sameInputsInAnyOrderGiveTheSameSpec() {
        List<ConntrackPolicy> policies = new ArrayList<>(List.of(
                policy("a", 5, ct -> ct.setMax(1000)),
                policy("b", 5, ct -> ct.setMax(2000)),
                policy("c", 5, ct -> ct.setUdp("10s")),
                policy("d", 7, ct -> ct.setUdp("20s")),
                policy("e", 0, ct -> ct.setMaxPerCore(100)),
                policy("f", 7, ct -> ct.setUdp("25s"))));
        ConntrackNodeStateSpec first = merger.resolve(worker, policies);

        Random random = new Random(42);
        for (int i = 0; i < 20; i++) {
            Collections.shuffle(policies, random);
            ConntrackNodeStateSpec again = merger.resolve(worker, policies);
            assertThat(PolicyMerger.sameSpec(first, again)).isTrue();
            assertThat(again.getPolicies()).containsExactly("d", "f", "a", "b", "c", "e");
            assertThat(new ArrayList<>(again.getSources().keySet())).isSorted();
        }
    }

    @Test
    void sameSpecSeesRealDifferencesOnly() {
        ConntrackPolicy p = policy("p", 0, ct -> ct.setMax(1000));
        ConntrackNodeStateSpec a = merger.resolve(worker, List.of(p));
        ConntrackNodeStateSpec b = merger.resolve(worker, List.of(p));

        b.setConflicts(List.of()); // what the API server may hand back for "none"
        b.setWarnings(List.of());
        assertThat(PolicyMerger.sameSpec(a, b)).isTrue();

        b.getConntrack().setMax(1001);
        assertThat(PolicyMerger.sameSpec(a, b)).isFalse();
        assertThat(PolicyMerger.sameSpec(a, null)).isFalse();
        assertThat(PolicyMerger.sameSpec(null, null)).isTrue();
    }

    @Test
    void durationsCompareByLength() {
        assertThat(PolicyMerger.sameValue("1m", "60s", true)).isTrue();
        assertThat(PolicyMerger.sameValue("1h30m", "90m", true)).isTrue();
        assertThat(PolicyMerger.sameValue("1.5s", "1500ms", true)).isTrue();
        assertThat(PolicyMerger.sameValue("1m", "61s", true)).isFalse();
        assertThat(PolicyMerger.sameValue("1m", "60s", false)).isFalse();
        assertThat(PolicyMerger.sameValue("soon", "60s", true)).isFalse();
    }

    @Test
    void autoscaleWhoseCeilingIsBelowAMaxFromAnotherPolicyIsLeftOutWithAWarning() {
        ConntrackPolicy sized = policy("sized", 10, ct -> ct.setMax(1048576));
        ConntrackPolicy scaling = scaling(262144);

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(sized, scaling));

        assertThat(spec.getConntrack().getMax()).isEqualTo(1048576);
        assertThat(spec.getConntrack().getAutoscale()).as("the node state's schema would refuse ceiling < max").isNull();
        assertThat(spec.getSources()).doesNotContainKey("conntrack.autoscale");
        assertThat(spec.getWarnings()).containsExactly("policy \"scaling\": conntrack.autoscale left out, its ceiling 262144 "
                + "is below max 1048576 from policy \"sized\"");
        assertThat(scaling.getSpec().getConntrack().getAutoscale()).as("the policy itself is untouched").isNotNull();
    }

    @Test
    void autoscaleWhoseCeilingEqualsMaxIsKept() {
        ConntrackPolicy sized = policy("sized", 10, ct -> ct.setMax(262144));
        ConntrackPolicy scaling = scaling(262144);

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(sized, scaling));

        assertThat(spec.getConntrack().getAutoscale().getCeiling()).isEqualTo(262144);
        assertThat(spec.getWarnings()).isNullOrEmpty();
    }

    /** Policy "scaling" (priority 0): autoscale on, up to CEILING. */
    private static ConntrackPolicy scaling(int ceiling) {
        return policy("scaling", 0, ct -> {
            dev.conntrack.api.AutoscaleSpec autoscale = new dev.conntrack.api.AutoscaleSpec();
            autoscale.setEnabled(true);
            autoscale.setCeiling(ceiling);
            ct.setAutoscale(autoscale);
        });
    }

    static ConntrackPolicy policy(String name, Integer priority, Consumer<ConntrackSettings> settings) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.setMetadata(new ObjectMetaBuilder().withName(name).withGeneration(1L).build());
        p.getSpec().setPriority(priority);
        // What the API server's schema defaults fill in on every stored policy.
        p.getSpec().setMode(Mode.Enforce);
        p.getSpec().setDriftPolicy(DriftPolicy.Reapply);
        ConntrackSettings ct = new ConntrackSettings();
        settings.accept(ct);
        p.getSpec().setConntrack(ct);
        return p;
    }

    static MonitoringSpec monitoring(int percent, String interval) {
        MonitoringSpec m = new MonitoringSpec();
        m.setUsageWarningPercent(percent);
        m.setPollInterval(interval);
        return m;
    }

    static Node node(String name, String cpu, String labelKey, String labelValue) {
        return new NodeBuilder()
                .withMetadata(new ObjectMetaBuilder().withName(name).addToLabels(labelKey, labelValue).build())
                .withNewStatus().addToCapacity("cpu", new Quantity(cpu)).endStatus()
                .build();
    }

    @Test
    void notrackRulesAreTakenWholeFromTheHighestPriorityPolicy() {
        NotrackRule dns = new NotrackRule(NotrackProtocol.udp, 53, null, "169.254.20.10/32");
        NotrackRule dnsTcp = new NotrackRule(NotrackProtocol.tcp, 53, null, "169.254.20.10/32");
        NotrackRule ports = new NotrackRule(NotrackProtocol.udp, 30000, 30100, null);
        ConntrackPolicy fleet = policy("fleet", 0, ct -> ct.setNotrack(List.of(dns, dnsTcp)));
        ConntrackPolicy ingress = policy("ingress", 10, ct -> ct.setNotrack(List.of(ports)));

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(fleet, ingress));

        // No union: the winner's list alone, so no rule reaches a node that its policy does not own.
        assertThat(spec.getConntrack().getNotrack()).containsExactly(ports);
        assertThat(spec.getSources()).contains(entry("conntrack.notrack", "ingress"));
        assertThat(merger.resolve(worker, List.of(fleet)).getConntrack().getNotrack()).containsExactly(dns, dnsTcp);
    }

    @Test
    void anEmptyNotrackListOfAHigherPolicyRemovesTheRules() {
        ConntrackPolicy fleet = policy("fleet", 0, ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, null))));
        ConntrackPolicy optOut = policy("no-notrack", 5, ct -> ct.setNotrack(List.of()));

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(fleet, optOut));

        assertThat(spec.getConntrack().getNotrack()).isEmpty();
        assertThat(spec.getSources()).contains(entry("conntrack.notrack", "no-notrack"));
    }

    @Test
    void differentNotrackListsAtEqualPriorityAreAConflict() {
        ConntrackPolicy a = policy("a-dns", 0, ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, null))));
        ConntrackPolicy b = policy("b-ntp", 0, ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 123, null, null))));
        ConntrackPolicy same = policy("c-dns", 0, ct -> ct.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, null))));

        ConntrackNodeStateSpec spec = merger.resolve(worker, List.of(b, a, same));

        assertThat(spec.getConntrack().getNotrack()).extracting(NotrackRule::getPort).containsExactly(53);
        assertThat(spec.getConflicts()).singleElement().satisfies(c -> {
            assertThat(c.getField()).isEqualTo("conntrack.notrack");
            assertThat(c.getPolicies()).containsExactly("a-dns", "b-ntp"); // c-dns agrees with the winner
            assertThat(c.getWinner()).isEqualTo("a-dns");
        });
    }
}
