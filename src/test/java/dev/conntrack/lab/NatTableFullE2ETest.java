package dev.conntrack.lab;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.NodeSummary;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The classic case end to end on this machine: nginx behind DNAT in lab namespaces
 * (hack/natlab.sh), a policy with max 1000 applied by the agent to the real kernel, ApacheBench
 * fills the router's table, conntrack-operator reports it (TableFull, Degraded, Event, counters),
 * a policy fix brings every request back, and deleting the policy restores the host.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class NatTableFullE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(45);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "nat-" + RUN;
    private static final String POLICY = "nat-" + RUN;
    private static final String MAX = "nf_conntrack_max";
    private static final String TIME_WAIT = "nf_conntrack_tcp_timeout_time_wait";

    private static final Sysctls HOST = new Sysctls();
    private static NatLabRig rig;
    private static NatLab lab;
    private static KubernetesClient client;
    private static RoleProcess operator;
    private static RoleProcess agent;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(Sysctls.available() && NatLab.available(), "needs root, nf_conntrack and iproute2 (CI has them)");
        HOST.save(MAX, TIME_WAIT);
        rig = NatLabRig.start(RUN, "nat", Map.of("CONNTRACK_METRICS_PORT", "0"), "-Xmx64m", "-XX:+UseSerialGC");
        lab = rig.lab();
        client = rig.client();
        operator = rig.operator();
        agent = rig.agent();
    }

    @AfterAll
    static void stop() {
        try {
            if (rig != null) {
                rig.close();
            }
        } finally {
            HOST.restore();
        }
    }

    @Test
    @Order(1)
    void aPolicyWithMax1000IsAppliedToTheKernel() {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setMax(1000);
        policy.getSpec().setConntrack(settings);
        client.resource(policy).create();

        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
            assertThat(Sysctls.read(MAX)).as(agent.logTail(20)).isEqualTo("1000");
            assertThat(Conditions.isTrue(status().getConditions(), "Applied")).isTrue();
        });
    }

    @Test
    @Order(2)
    void theLoadFillsTheRouterTableAndEveryoneSaysSo() throws Exception {
        long dropsBefore = allNamespaceDrops();
        DetectionClock detection = DetectionClock.start(lab);
        io.fabric8.kubernetes.client.Watch watch = detection.onTableFull(client, NODE);
        // The policy's own view, watched during the load: TableFull clears soon after ab gives up.
        DetectionClock policyDegraded = DetectionClock.start(lab);
        io.fabric8.kubernetes.client.Watch policyWatch = policyDegraded.onPolicy(client, POLICY, this::degradedByThisNode);

        NatLab.LoadResult result = lab.load(5000, 10000, 5, 25);

        assertThat(result.failedOrAborted()).as(result.output()).isTrue();
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
            ConntrackNodeStateStatus status = status();
            assertThat(allNamespaceDrops()).as("drops seen across namespaces").isGreaterThan(dropsBefore);
            assertThat(status.getNamespaces()).as("the router namespace is listed")
                    .anySatisfy(n -> assertThat(n.getPid()).isEqualTo(lab.routerPid()));
            assertThat(status.getLastTableFullTime()).isNotNull();
            assertThat(eventReasons()).contains("ConntrackTableFull");
        });
        DetectionClock.Result latency = detection.await(WAIT);
        watch.close();
        System.out.println("detection: first kernel drop -> TableFull in the node state: " + latency.millis() + " ms");
        assertThat(latency.detected()).as("TableFull was reported in the node state").isTrue();
        DetectionClock.Result rolledUp = policyDegraded.await(WAIT);
        policyWatch.close();
        System.out.println("detection: first kernel drop -> policy Degraded/NodesDropping: " + rolledUp.millis() + " ms");
        assertThat(rolledUp.detected()).as("the policy turned Degraded (NodesDropping) naming the node, with the node"
                + " first in worstNodes\n" + operator.logTail(20)).isTrue();
    }

    /** Degraded=True, reason NodesDropping, the message naming this node, which heads worstNodes as dropping. */
    private boolean degradedByThisNode(ConntrackPolicy rolled) {
        if (rolled.getStatus() == null) {
            return false;
        }
        Condition degraded = Conditions.find(rolled.getStatus().getConditions(), "Degraded");
        List<NodeSummary> worst = rolled.getStatus().getWorstNodes();
        return degraded != null && "True".equals(degraded.getStatus()) && "NodesDropping".equals(degraded.getReason())
                && degraded.getMessage().contains(NODE)
                && worst != null && !worst.isEmpty() && NODE.equals(worst.get(0).getName());
    }

    @Test
    @Order(3)
    void raisingMaxByPolicyBringsEveryRequestBack() {
        ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(POLICY).get();
        policy.getSpec().getConntrack().setMax(131072);
        client.resource(policy).update();
        await().atMost(WAIT).ignoreExceptions().until(() -> Sysctls.read(MAX).equals("131072"));
        lab.flushRouterTable();
        long dropsBefore = lab.routerDrops();

        NatLab.LoadResult result = lab.load(5000, 10000, 30, 60);

        assertThat(result.completeRequests()).as(result.output()).isEqualTo(10000);
        assertThat(result.failedRequests()).isZero();
        assertThat(lab.routerDrops()).isEqualTo(dropsBefore);
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() ->
                assertThat(Conditions.isTrue(status().getConditions(), "TableFull")).isFalse());
    }

    @Test
    @Order(4)
    void deletingThePolicyPutsTheHostBack() {
        client.resources(ConntrackPolicy.class).withName(POLICY).delete();
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
            assertThat(Sysctls.read(MAX)).isEqualTo(HOST.original(MAX));
            assertThat(Sysctls.read(TIME_WAIT)).isEqualTo(HOST.original(TIME_WAIT));
        });
    }

    private static ConntrackNodeStateStatus status() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        return state == null || state.getStatus() == null ? new ConntrackNodeStateStatus() : state.getStatus();
    }

    private static long allNamespaceDrops() {
        ConntrackNodeStateStatus status = status();
        return status.getCounters() == null || status.getCounters().getDropAllNamespaces() == null
                ? 0 : status.getCounters().getDropAllNamespaces();
    }

    private static List<String> eventReasons() {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> NODE.equals(e.getInvolvedObject().getName()))
                .map(Event::getReason)
                .toList();
    }
}
