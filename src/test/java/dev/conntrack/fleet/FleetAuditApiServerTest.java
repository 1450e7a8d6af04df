package dev.conntrack.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.kernel.ConntrackKey;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The fleet audit at 200 simulated nodes with 10% rollouts on the shared test API server, the
 * operator as a process: an Enforce policy and an ObserveOnly audit of higher priority created a
 * few milliseconds apart (the Enforce one first, the dangerous order). No node spec ever asks a
 * node to enforce while the audit is there, no fake kernel changes, the audit counts all 200 nodes
 * as ones Enforce would change and the Enforce policy is held on all 200. Deleting the audit rolls
 * the Enforce policy out in batches: never more than maxUnavailable nodes enforcing without having
 * reported it.
 */
class FleetAuditApiServerTest {
    private static final int NODES = 200;
    private static final int MAX_UNAVAILABLE = 20; // 10% of 200
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String ENFORCE = "fleet-enforce-" + RUN;
    private static final String AUDIT = "fleet-audit-" + RUN;

    private static FleetRig rig;
    private static KubernetesClient admin;
    private static SimulatedFleet fleet;
    private static final List<String> enforcedUnderAudit = new CopyOnWriteArrayList<>();
    private static volatile boolean auditPresent;

    @BeforeAll
    static void start() {
        rig = new FleetRig("audit-" + RUN, NODES, Map.of("fleet-audit", RUN), WAIT, f -> f.onChange(state -> {
            if (auditPresent && state.getSpec() != null && state.getSpec().getMode() != Mode.ObserveOnly
                    && state.getSpec().getPolicies() != null && state.getSpec().getPolicies().contains(ENFORCE)) {
                enforcedUnderAudit.add(state.getMetadata().getName() + " at generation " + state.getMetadata().getGeneration());
            }
        }));
        admin = rig.admin;
        fleet = rig.fleet;
        rig.start();
    }

    @AfterAll
    static void stop() {
        if (rig != null) {
            rig.close(AUDIT, ENFORCE);
        }
    }

    @Test
    void anEnforcePolicyAndAnAuditCreatedTogetherWriteNothingAndTheAuditsDeletionRollsOutInBatches() throws Exception {
        auditPresent = true;
        admin.resource(enforcePolicy()).create();
        admin.resource(auditPolicy()).create();

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(fleet.states()).allSatisfy(s -> {
                assertThat(s.getSpec().getPolicies()).as(s.getMetadata().getName()).contains(AUDIT, ENFORCE);
                assertThat(SimulatedFleet.appliedCurrent(s)).as(s.getMetadata().getName() + " reported").isTrue();
            });
            ConntrackPolicyStatus audit = policy(AUDIT).getStatus();
            assertThat(audit).isNotNull();
            assertThat(audit.getAudit().getReportedNodes()).isEqualTo(NODES);
            assertThat(audit.getAudit().getWouldChangeNodes()).isEqualTo(NODES);
            assertThat(audit.getAudit().getChangedEarlierNodes()).isZero();
            ConntrackPolicyStatus held = policy(ENFORCE).getStatus();
            assertThat(held).isNotNull();
            assertThat(held.getNodes().getHeldByObserveOnly()).isEqualTo(NODES);
            assertThat(held.getNodes().getApplied()).isZero();
            Condition ready = Conditions.find(held.getConditions(), "Ready");
            assertThat(ready.getReason()).as(ready.getMessage()).isEqualTo("HeldByObserveOnly");
            assertThat(ready.getMessage()).contains(AUDIT).contains("200 of 200 nodes only observe");
        });
        assertThat(enforcedUnderAudit).as("node specs that enforced while the audit was there").isEmpty();
        for (String node : fleet.names()) {
            assertThat(fleet.host(node).rawLive(ConntrackKey.TCP_CLOSE_WAIT).trim()).as(node + " kernel").isEqualTo("60");
        }

        // The audit goes: the Enforce policy reaches the nodes in batches of at most 10%.
        auditPresent = false;
        AtomicInteger maxEnforcingUnreported = new AtomicInteger();
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                maxEnforcingUnreported.accumulateAndGet(enforcingUnreported(), Math::max);
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "audit-sampler");
        sampler.setDaemon(true);
        sampler.start();
        try {
            admin.resources(ConntrackPolicy.class).withName(AUDIT).delete();
            await().atMost(WAIT).untilAsserted(() -> {
                Condition ready = Conditions.find(policy(ENFORCE).getStatus().getConditions(), "Ready");
                assertThat(ready.getStatus()).as(ready.getMessage()).isEqualTo("True");
                assertThat(policy(ENFORCE).getStatus().getNodes().getApplied()).isEqualTo(NODES);
            });
        } finally {
            sampler.interrupt();
        }
        assertThat(maxEnforcingUnreported.get()).as("nodes enforcing without having reported it, at most").isBetween(1, MAX_UNAVAILABLE);
        await().atMost(WAIT).until(() -> policy(AUDIT) == null);
        for (String node : fleet.names()) {
            assertThat(fleet.host(node).rawLive(ConntrackKey.TCP_CLOSE_WAIT).trim()).as(node + " kernel").isEqualTo("3600");
        }
    }

    /** Nodes whose spec enforces the policy and whose agent has not reported that spec yet. */
    private static int enforcingUnreported() {
        int n = 0;
        for (ConntrackNodeState s : fleet.states()) {
            if (s.getSpec().getMode() != Mode.ObserveOnly && s.getSpec().getPolicies() != null
                    && s.getSpec().getPolicies().contains(ENFORCE) && !SimulatedFleet.appliedCurrent(s)) {
                n++;
            }
        }
        return n;
    }

    private static ConntrackPolicy enforcePolicy() {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName(ENFORCE);
        p.getSpec().setNodeSelector(new NodeSelector(Map.of("fleet-audit", RUN), null));
        p.getSpec().setMode(Mode.Enforce);
        ConntrackSettings ct = new ConntrackSettings();
        ct.setTcpCloseWait("1h");
        p.getSpec().setConntrack(ct);
        RolloutSpec rollout = new RolloutSpec();
        rollout.setMaxUnavailable(new IntOrString("10%"));
        p.getSpec().setRollout(rollout);
        return p;
    }

    private static ConntrackPolicy auditPolicy() {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName(AUDIT);
        p.getSpec().setNodeSelector(new NodeSelector(Map.of("fleet-audit", RUN), null));
        p.getSpec().setPriority(1000);
        p.getSpec().setMode(Mode.ObserveOnly);
        return p;
    }

    private static ConntrackPolicy policy(String name) {
        return admin.resources(ConntrackPolicy.class).withName(name).get();
    }
}
