package dev.conntrack.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.api.RolloutStatus;
import dev.conntrack.operator.RolloutPlanner;
import dev.conntrack.testing.RoleProcess;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The fleet harness at 200 nodes on the shared test API server: the operator process (as its
 * service account) rolls a policy out in 10% batches to 200 simulated agents (the real NodeAgent
 * code over fake kernel trees, acting as the agent service account). A sampler watches the node
 * states every 100 ms: never more than maxUnavailable nodes in flight. One node cannot write its
 * hash size: the edit that sets buckets pauses the rollout on it, and the resume annotation lets
 * the rollout finish. The policy object stays under 16 KiB throughout.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FleetRolloutApiServerTest {
    private static final int NODES = 200;
    private static final int MAX_UNAVAILABLE = 20; // 10% of 200
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String POLICY = "fleet-" + RUN;

    private static FleetRig rig;
    private static KubernetesClient admin;
    private static RoleProcess operator;
    private static SimulatedFleet fleet;
    private static String broken;
    private static Thread sampler;
    private static final AtomicLong sampledGeneration = new AtomicLong(1);
    private static final AtomicInteger maxInFlight = new AtomicInteger();
    private static final AtomicInteger maxPolicyBytes = new AtomicInteger();

    @BeforeAll
    static void start() {
        rig = new FleetRig("fleet-" + RUN, NODES, Map.of("fleet-ci", RUN), WAIT, f -> {
            // In the first batch (admission goes by name), healthy until a spec asks it for other buckets.
            broken = f.names().get(3);
            f.breakBucketWrites(broken);
        });
        admin = rig.admin;
        operator = rig.operator;
        fleet = rig.fleet;
        rig.start();
        sampler = new Thread(FleetRolloutApiServerTest::sample, "fleet-sampler");
        sampler.setDaemon(true);
        sampler.start();
    }

    @AfterAll
    static void stop() {
        if (sampler != null) {
            sampler.interrupt();
        }
        if (rig != null) {
            rig.close(POLICY);
        }
    }

    @Test
    @Order(1)
    void aNewPolicyReachesTheFleetInBatchesOfAtMostMaxUnavailable() {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("fleet-ci", RUN), null));
        ConntrackSettings ct = new ConntrackSettings();
        ct.setMax(262144);
        ct.setTcpTimeWait("30s");
        policy.getSpec().setConntrack(ct);
        RolloutSpec rollout = new RolloutSpec();
        rollout.setMaxUnavailable(new IntOrString("10%"));
        policy.getSpec().setRollout(rollout);
        admin.resource(policy).create();

        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicyStatus status = policy().getStatus();
            assertThat(status).as(operator.logTail(30)).isNotNull();
            assertThat(status.getNodes().getApplied()).as("applied").isEqualTo(NODES);
            assertCondition(status, "Ready", "True", "AllNodesApplied");
        });
        RolloutStatus rollout1 = policy().getStatus().getRollout();
        assertThat(rollout1.getMaxUnavailable()).isEqualTo(MAX_UNAVAILABLE);
        assertThat(rollout1.getUpdatedNodes()).isEqualTo(NODES);
        assertThat(maxInFlight.get()).as("most nodes in flight at once").isBetween(2, MAX_UNAVAILABLE);
    }

    @Test
    @Order(2)
    void aNodeTurningDegradedPausesTheRolloutAndTheResumeAnnotationFinishesIt() {
        maxInFlight.set(0);
        sampledGeneration.set(2);
        ConntrackPolicy policy = policy();
        policy.getSpec().getConntrack().setMax(524288);
        policy.getSpec().getConntrack().setBuckets(131072);
        policy.setStatus(null);
        admin.resource(policy).update();

        await().atMost(WAIT).untilAsserted(() -> {
            RolloutStatus rollout = policy().getStatus().getRollout();
            assertThat(rollout.getGeneration()).isEqualTo(2L);
            assertThat(rollout.isPaused()).as("paused").isTrue();
            assertThat(rollout.getPausedNodes()).containsExactly(broken);
            Condition progressing = assertCondition(policy().getStatus(), "Progressing", "False", "RolloutPaused");
            assertThat(progressing.getMessage()).contains(broken).contains(RolloutPlanner.RESUME_ANNOTATION);
        });
        int carrying = fleet.carrying(POLICY, 2);
        assertThat(carrying).isLessThan(NODES);
        // The batch's other nodes finish and report; each report is a roll-up, and the one that sees
        // nothing in flight any more would admit the next batch if the pause did not hold.
        await().atMost(WAIT).untilAsserted(() -> {
            RolloutStatus rollout = policy().getStatus().getRollout();
            assertThat(rollout.isPaused()).as("paused").isTrue();
            assertThat(rollout.getInFlightNodes()).as("in flight").isZero();
        });
        assertThat(fleet.carrying(POLICY, 2)).as("no node takes generation 2 while paused").isEqualTo(carrying);
        assertThat(policy().getStatus().getRollout().getPendingNodes()).isEqualTo(NODES - carrying);

        admin.resources(ConntrackPolicy.class).withName(POLICY)
                .edit(p -> {
                    p.getMetadata().setAnnotations(Map.of(RolloutPlanner.RESUME_ANNOTATION, "after-checking-" + broken));
                    return p;
                });

        await().atMost(WAIT).untilAsserted(() -> {
            RolloutStatus rollout = policy().getStatus().getRollout();
            assertThat(rollout.isPaused()).isFalse();
            assertThat(rollout.getResumedWith()).isEqualTo("after-checking-" + broken);
            assertThat(rollout.getPendingNodes()).as("pending").isZero();
            assertThat(rollout.getInFlightNodes()).as("in flight").isZero();
            assertThat(rollout.getUpdatedNodes()).isEqualTo(NODES - 1);
            assertThat(rollout.getFailedNodes()).isEqualTo(1);
        });
        assertThat(fleet.reportedApplied(POLICY, 2)).isEqualTo(NODES - 1);
        assertCondition(policy().getStatus(), "Degraded", "True", "NodesDegraded");
        assertThat(maxInFlight.get()).isBetween(1, MAX_UNAVAILABLE);
    }

    @Test
    @Order(3)
    void thePolicyStaysSmall() {
        assertThat(maxPolicyBytes.get()).as("largest policy JSON seen").isBetween(500, 16 * 1024 - 1);
    }

    /** Every 100 ms: nodes in flight for the generation under test, and the policy's size. */
    private static void sample() {
        while (!Thread.currentThread().isInterrupted()) {
            try {
                maxInFlight.accumulateAndGet(fleet.inFlight(POLICY, sampledGeneration.get()), Math::max);
                ConntrackPolicy p = admin.resources(ConntrackPolicy.class).withName(POLICY).get();
                if (p != null) {
                    maxPolicyBytes.accumulateAndGet(Serialization.asJson(p).getBytes(StandardCharsets.UTF_8).length, Math::max);
                }
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                // A failed GET (server busy) just skips a sample.
            }
        }
    }

    private static ConntrackPolicy policy() {
        return admin.resources(ConntrackPolicy.class).withName(POLICY).get();
    }

    private static Condition assertCondition(ConntrackPolicyStatus status, String type, String value, String reason) {
        Condition c = Conditions.find(status.getConditions(), type);
        assertThat(c).as(type).isNotNull();
        assertThat(c.getStatus()).as(type + ": " + c.getMessage()).isEqualTo(value);
        assertThat(c.getReason()).as(type + ": " + c.getMessage()).isEqualTo(reason);
        return c;
    }
}
