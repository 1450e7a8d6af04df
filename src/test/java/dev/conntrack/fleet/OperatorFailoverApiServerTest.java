package dev.conntrack.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two operator processes (the chart's service account, leader election on the chart's Lease) over 40
 * simulated nodes while two policies roll out in 10% batches (each on its own half of the nodes): the leader is killed (SIGKILL, no
 * hand-over) in the middle, the other takes the Lease within its duration and finishes both
 * rollouts. Sampled every 100 ms throughout: never more than maxUnavailable nodes in flight per
 * policy (no double admission across the two), no policy's updated count ever going back (no lost
 * status), and both policies Ready at the end with every node applied.
 */
class OperatorFailoverApiServerTest {
    private static final int NODES = 40;
    /** Each policy selects half of the nodes (so that one's spec writes never count as the other's in flight). */
    private static final int PER_POLICY = NODES / 2;
    private static final int MAX_UNAVAILABLE = 2; // 10% of 20
    private static final Duration WAIT = Duration.ofSeconds(90);
    private static final Duration LEASE = Duration.ofSeconds(4);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final List<String> POLICIES = List.of("failover-a-" + RUN, "failover-b-" + RUN);

    private static FleetRig rig;
    private static KubernetesClient admin;
    private static SimulatedFleet fleet;
    private static RoleProcess first;
    private static RoleProcess second;
    private static final Map<String, Integer> maxInFlight = new ConcurrentHashMap<>();
    private static final List<String> regressions = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void start() {
        rig = new FleetRig("failover-" + RUN, NODES, Map.of("failover", RUN), WAIT, f -> { }, election("op-one-" + RUN));
        admin = rig.admin;
        fleet = rig.fleet;
        first = rig.operator;
        second = rig.startOperator("operator-failover-two", election("op-two-" + RUN));
        for (int i = 0; i < NODES; i++) {
            String half = i < PER_POLICY ? "0" : "1";
            admin.nodes().withName(fleet.names().get(i)).edit(n -> {
                n.getMetadata().getLabels().put("failover-half", half);
                return n;
            });
        }
        rig.start();
    }

    @AfterAll
    static void stop() {
        if (rig != null) {
            rig.close(POLICIES.toArray(String[]::new));
        }
    }

    /** Short timings so the test is quick: a killed leader is replaced within about 4 s. */
    private static Map<String, String> election(String host) {
        return Map.of("HOSTNAME", host,
                "CONNTRACK_LEADER_ELECTION_LEASE_DURATION", LEASE.toSeconds() + "s",
                "CONNTRACK_LEADER_ELECTION_RENEW_DEADLINE", "3s",
                "CONNTRACK_LEADER_ELECTION_RETRY_PERIOD", "1s");
    }

    @Test
    void killingTheLeaderMidRolloutLetsTheOtherFinishWithoutDoubleAdmissionOrLostStatus() throws Exception {
        String leaderBefore = await().atMost(WAIT).until(OperatorFailoverApiServerTest::holder, h -> h != null && h.startsWith("op-"));
        RoleProcess leader = leaderBefore.startsWith("op-one-") ? first : second;
        RoleProcess survivor = leader == first ? second : first;
        String survivorPrefix = leader == first ? "op-two-" : "op-one-";

        Thread sampler = sampler();
        try {
            for (int i = 0; i < POLICIES.size(); i++) {
                admin.resource(policy(POLICIES.get(i), i, settings -> settings.setTcpTimeWait("45s"))).create();
            }
            // Mid-rollout: some nodes updated, most not.
            await().atMost(WAIT).untilAsserted(() -> assertThat(updated(POLICIES.get(0))).isBetween(MAX_UNAVAILABLE, PER_POLICY / 2));
            long killed = System.nanoTime();
            leader.kill();

            String leaderAfter = await().atMost(WAIT).pollInterval(Duration.ofMillis(100))
                    .until(OperatorFailoverApiServerTest::holder, h -> h != null && h.startsWith(survivorPrefix));
            double failoverSeconds = (System.nanoTime() - killed) / 1e9;
            System.out.printf("operator failover: %s killed, %s holds the Lease after %.1f s%n", leaderBefore, leaderAfter, failoverSeconds);
            assertThat(failoverSeconds).as("lease duration %s plus the retry period", LEASE).isLessThan(LEASE.toSeconds() + 4);

            await().atMost(WAIT).untilAsserted(() -> {
                for (String name : POLICIES) {
                    ConntrackPolicyStatus status = policyStatus(name);
                    assertThat(status).as(name + "\n" + survivor.logTail(20)).isNotNull();
                    Condition ready = Conditions.find(status.getConditions(), "Ready");
                    assertThat(ready.getStatus()).as(name + ": " + ready.getMessage()).isEqualTo("True");
                    assertThat(status.getNodes().getApplied()).isEqualTo(PER_POLICY);
                    assertThat(status.getObservedGeneration()).isEqualTo(1L);
                }
            });
        } finally {
            sampler.interrupt();
        }
        assertThat(survivor.isAlive()).isTrue();
        assertThat(maxInFlight).allSatisfy((name, max) -> assertThat(max).as(name + " in flight at most").isBetween(1, MAX_UNAVAILABLE));
        assertThat(regressions).as("status that went back").isEmpty();
    }

    /** Every 100 ms: in-flight nodes per policy, and whether a policy's updated count went back. */
    private static Thread sampler() {
        Map<String, Integer> lastUpdated = new ConcurrentHashMap<>();
        Thread t = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    for (String name : POLICIES) {
                        maxInFlight.merge(name, fleet.inFlight(name, 1), Math::max);
                        int updated = updated(name);
                        Integer before = lastUpdated.put(name, updated);
                        if (before != null && updated < before) {
                            regressions.add(name + ": updated " + before + " -> " + updated);
                        }
                    }
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    // A failed GET (server busy) skips a sample.
                }
            }
        }, "failover-sampler");
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static String holder() {
        Lease lease = admin.leases().inNamespace(TestApiServer.NAMESPACE).withName("conntrack-operator").get();
        return lease == null || lease.getSpec() == null ? null : lease.getSpec().getHolderIdentity();
    }

    private static int updated(String name) {
        ConntrackPolicyStatus status = policyStatus(name);
        return status == null || status.getRollout() == null ? 0 : status.getRollout().getUpdatedNodes();
    }

    private static ConntrackPolicyStatus policyStatus(String name) {
        ConntrackPolicy p = admin.resources(ConntrackPolicy.class).withName(name).get();
        return p == null ? null : p.getStatus();
    }

    private static ConntrackPolicy policy(String name, int priority, Consumer<ConntrackSettings> settings) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName(name);
        p.getSpec().setNodeSelector(new NodeSelector(Map.of("failover", RUN, "failover-half", Integer.toString(priority)), null));
        p.getSpec().setPriority(priority);
        p.getSpec().setMode(Mode.Enforce);
        ConntrackSettings ct = new ConntrackSettings();
        settings.accept(ct);
        p.getSpec().setConntrack(ct);
        RolloutSpec rollout = new RolloutSpec();
        rollout.setMaxUnavailable(new IntOrString("10%"));
        p.getSpec().setRollout(rollout);
        return p;
    }
}
