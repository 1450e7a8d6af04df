package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackPolicyStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator process from the built artifact against the real kube-apiserver: node states and
 * the agent DaemonSet appear, overlapping policies merge by priority, conflicts are reported,
 * selectors move nodes, deletion clears settings behind a finalizer, status follows generations.
 * Every policy here selects only this test's nodes (label run=<id>), so other tests are unaffected.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OperatorReconcileApiServerTest {
    private static final String NAMESPACE = TestApiServer.NAMESPACE;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String INGRESS = "ingress-" + RUN;
    private static final String WORKER = "worker-" + RUN;
    private static final String SPARE = "spare-" + RUN;

    private static KubernetesClient client;
    private static RoleProcess operator;

    @BeforeAll
    static void startOperator() throws Exception {
        client = TestApiServer.newClient();
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build())
                .serverSideApply();
        createNode(INGRESS, Map.of("role", "ingress", "zone", "a"), "8");
        createNode(WORKER, Map.of("role", "worker", "zone", "b"), "4");
        createNode(SPARE, Map.of("role", "worker", "zone", "c"), null);
        Path dir = Files.createTempDirectory("operator-test");
        operator = RoleProcess.start("operator", "operator-reconcile", Map.of(
                "KUBECONFIG", TestApiServer.kubeConfigFile(dir).toString(),
                "CONNTRACK_AGENT_NAMESPACE", NAMESPACE,
                "CONNTRACK_AGENT_IMAGE", "example.org/conntrack-operator:test",
                // The operator runs as the chart's service account: its RBAC must suffice.
                "KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.OPERATOR_USER,
                "QUARKUS_HTTP_PORT", "0"), "-Xmx192m");
    }

    @AfterAll
    static void stop() {
        if (operator != null) {
            operator.close();
        }
        client.close();
    }

    @AfterEach
    void printOperatorLogOnFailure(TestInfo info) {
        if (!operator.isAlive()) {
            System.err.println("operator exited during " + info.getDisplayName() + ":\n" + operator.logTail(80));
        }
    }

    @Test
    @Order(1)
    void everyNodeGetsAStateAndTheAgentDaemonSetExists() {
        await().atMost(WAIT).untilAsserted(() -> {
            for (String node : List.of(INGRESS, WORKER, SPARE)) {
                ConntrackNodeState state = state(node);
                assertThat(state).as("node state of " + node + "\n" + operator.logTail(40)).isNotNull();
                assertThat(state.getSpec().getPolicies()).isNullOrEmpty();
                assertThat(state.getSpec().getConntrack()).isNull();
                assertThat(state.getMetadata().getOwnerReferences()).singleElement()
                        .satisfies(o -> assertThat(o.getKind()).isEqualTo("Node"));
            }
        });
        DaemonSet ds = await().atMost(WAIT).until(
                () -> client.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentDaemonSetFactory.NAME).get(),
                d -> d != null);
        var pod = ds.getSpec().getTemplate().getSpec();
        assertThat(pod.getHostNetwork()).isTrue();
        assertThat(pod.getHostPID()).isTrue();
        assertThat(pod.getContainers().get(0).getSecurityContext().getPrivileged()).isTrue();
        assertThat(pod.getContainers().get(0).getImage()).isEqualTo("example.org/conntrack-operator:test");

        // Someone deletes the DaemonSet: the operator puts it back.
        client.resource(ds).withGracePeriod(0).delete();
        await().atMost(WAIT).until(() -> {
            DaemonSet again = client.apps().daemonSets().inNamespace(NAMESPACE).withName(AgentDaemonSetFactory.NAME).get();
            return again != null && !again.getMetadata().getUid().equals(ds.getMetadata().getUid());
        });
    }

    @Test
    @Order(2)
    void overlappingPoliciesMergeFieldByFieldByPriority() {
        createPolicy("fleet-" + RUN, 0, Map.of("run", RUN), ct -> {
            ct.setMaxPerCore(32768);
            ct.setTcpTimeWait("30s");
        });
        createPolicy("ingress-" + RUN, 10, Map.of("run", RUN, "role", "ingress"), ct -> ct.setMax(1048576));

        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackSettings ingress = state(INGRESS).getSpec().getConntrack();
            assertThat(ingress).isNotNull();
            assertThat(ingress.getMax()).isEqualTo(1048576);
            assertThat(ingress.getTcpTimeWait()).isEqualTo("30s");
            assertThat(state(INGRESS).getSpec().getSources())
                    .containsEntry("conntrack.max", "ingress-" + RUN)
                    .containsEntry("conntrack.tcpTimeWait", "fleet-" + RUN);
            ConntrackSettings worker = state(WORKER).getSpec().getConntrack();
            assertThat(worker).isNotNull();
            assertThat(worker.getMax()).isEqualTo(4 * 32768);
            assertThat(worker.getMaxPerCore()).isNull();
            // The spare node has no CPU capacity: per-core sizing is not guessed, it is reported.
            assertThat(state(SPARE).getSpec().getConntrack().getMax()).isNull();
            assertThat(state(SPARE).getSpec().getWarnings()).singleElement().asString().contains("CPU capacity");
        });
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicyStatus fleet = policy("fleet-" + RUN).getStatus();
            assertThat(fleet).isNotNull();
            assertThat(fleet.getNodes().getSelected()).isEqualTo(3);
            assertThat(fleet.getNodes().getApplied()).isZero();
            assertCondition(fleet.getConditions(), "Ready", "False", "NodesPending");
            assertCondition(fleet.getConditions(), "Progressing", "True", "ApplyingSettings");
            assertCondition(fleet.getConditions(), "Conflict", "False", "NoConflict");
        });
    }

    @Test
    @Order(3)
    void agentReportsRollUpIntoReadyWithObservedGeneration() {
        for (String node : List.of(INGRESS, WORKER, SPARE)) {
            reportApplied(node);
        }
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicy fleet = policy("fleet-" + RUN);
            ConntrackPolicyStatus status = fleet.getStatus();
            assertThat(status.getObservedGeneration()).isEqualTo(fleet.getMetadata().getGeneration());
            assertThat(status.getNodes().getApplied()).isEqualTo(3);
            assertCondition(status.getConditions(), "Ready", "True", "AllNodesApplied");
            assertCondition(status.getConditions(), "Progressing", "False", "Complete");
        });

        // A spec edit bumps the generation: the policy is pending again until the nodes report it.
        ConntrackPolicy fleet = policy("fleet-" + RUN);
        fleet.getSpec().getConntrack().setTcpTimeWait("45s");
        client.resource(fleet).update();
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicy edited = policy("fleet-" + RUN);
            assertThat(edited.getMetadata().getGeneration()).isEqualTo(2L);
            assertThat(edited.getStatus().getObservedGeneration()).isEqualTo(2L);
            assertCondition(edited.getStatus().getConditions(), "Ready", "False", "NodesPending");
            assertThat(state(WORKER).getSpec().getConntrack().getTcpTimeWait()).isEqualTo("45s");
        });
        for (String node : List.of(INGRESS, WORKER, SPARE)) {
            reportApplied(node);
        }
        await().atMost(WAIT).untilAsserted(() ->
                assertCondition(policy("fleet-" + RUN).getStatus().getConditions(), "Ready", "True", "AllNodesApplied"));
    }

    @Test
    @Order(4)
    void equalPrioritiesWithDifferentValuesAreAConflictOnBothPolicies() {
        createPolicy("zz-ingress-" + RUN, 10, Map.of("run", RUN, "role", "ingress"), ct -> ct.setMax(2000000));

        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState ingress = state(INGRESS);
            // Decided by name: "ingress-..." sorts before "zz-ingress-...".
            assertThat(ingress.getSpec().getConntrack().getMax()).isEqualTo(1048576);
            assertThat(ingress.getSpec().getConflicts()).singleElement().satisfies(c -> {
                assertThat(c.getField()).isEqualTo("conntrack.max");
                assertThat(c.getWinner()).isEqualTo("ingress-" + RUN);
                assertThat(c.getPolicies()).containsExactly("ingress-" + RUN, "zz-ingress-" + RUN);
            });
            for (String name : List.of("ingress-" + RUN, "zz-ingress-" + RUN)) {
                // The roll-up runs at most once a second per policy: the status may not be there yet.
                assertThat(policy(name).getStatus()).as(name + " status").isNotNull();
                Condition conflict = Conditions.find(policy(name).getStatus().getConditions(), "Conflict");
                assertThat(conflict).as(name + " Conflict condition").isNotNull();
                assertThat(conflict.getStatus()).as(name).isEqualTo("True");
                assertThat(conflict.getReason()).isEqualTo("EqualPriorityConflict");
                assertThat(conflict.getMessage()).contains("conntrack.max");
            }
        });
        client.resources(ConntrackPolicy.class).withName("zz-ingress-" + RUN).delete();
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(state(INGRESS).getSpec().getConflicts()).isNullOrEmpty();
            assertCondition(policy("ingress-" + RUN).getStatus().getConditions(), "Conflict", "False", "NoConflict");
        });
    }

    @Test
    @Order(5)
    void editingTheSelectorMovesNodes() {
        ConntrackPolicy ingress = policy("ingress-" + RUN);
        ingress.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN, "zone", "b"), null));
        client.resource(ingress).update();

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(state(WORKER).getSpec().getConntrack().getMax()).isEqualTo(1048576);
            assertThat(state(WORKER).getSpec().getPolicies()).containsExactly("ingress-" + RUN, "fleet-" + RUN);
            assertThat(state(INGRESS).getSpec().getConntrack().getMax()).isEqualTo(8 * 32768);
            assertThat(state(INGRESS).getSpec().getPolicies()).containsExactly("fleet-" + RUN);
            assertThat(policy("ingress-" + RUN).getStatus().getNodes().getSelected()).isEqualTo(1);
        });
    }

    @Test
    @Order(6)
    void deletingAPolicyClearsItsSettingsBeforeItDisappears() {
        client.resources(ConntrackPolicy.class).withName("fleet-" + RUN).delete();

        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(policy("fleet-" + RUN)).isNull();
            for (String node : List.of(INGRESS, WORKER, SPARE)) {
                assertThat(policiesOf(node)).doesNotContain("fleet-" + RUN);
            }
            assertThat(state(INGRESS).getSpec().getConntrack()).isNull();
            assertThat(state(WORKER).getSpec().getConntrack().getTcpTimeWait()).isNull();
            assertThat(state(WORKER).getSpec().getConntrack().getMax()).isEqualTo(1048576);
        });
    }

    @Test
    @Order(7)
    void theStateIsOwnedByItsNodeForTheClustersGarbageCollectorAndAPolicyDoesNotWaitForAGoneNode() {
        // The cluster's garbage collector (kube-controller-manager) deletes a state with its Node:
        // what it needs is a controller owner reference carrying the Node's uid. This API server
        // runs no controllers (the node tier's real cluster does), so the state stays here.
        Node spare = client.nodes().withName(SPARE).get();
        assertThat(state(SPARE).getMetadata().getOwnerReferences()).singleElement().satisfies(o -> {
            assertThat(o.getApiVersion()).isEqualTo("v1");
            assertThat(o.getKind()).isEqualTo("Node");
            assertThat(o.getName()).isEqualTo(SPARE);
            assertThat(o.getUid()).isEqualTo(spare.getMetadata().getUid());
            assertThat(o.getController()).isTrue();
        });
        createPolicy("zone-c-" + RUN, 5, Map.of("run", RUN, "zone", "c"), ct -> ct.setTcpCloseWait("2h"));
        await().atMost(WAIT).untilAsserted(() -> assertThat(policiesOf(SPARE)).contains("zone-c-" + RUN));
        client.nodes().withName(SPARE).delete();
        // The policy's finalizer does not wait for the state of a Node that is gone: no agent runs there.
        client.resources(ConntrackPolicy.class).withName("zone-c-" + RUN).delete();
        await().atMost(WAIT).untilAsserted(() -> assertThat(policy("zone-c-" + RUN)).isNull());
        client.resources(ConntrackPolicy.class).withName("ingress-" + RUN).delete();
        await().atMost(WAIT).untilAsserted(() -> assertThat(policy("ingress-" + RUN)).isNull());
        assertThat(operator.isAlive()).as(operator.logTail(60)).isTrue();
    }

    @Test
    @Order(8)
    void aStateWhoseOwnerReferenceWasRemovedGetsItBackWithTheNextSpecWrite() {
        ConntrackNodeState worker = state(WORKER);
        worker.getMetadata().setOwnerReferences(null);
        client.resource(worker).update();
        createPolicy("late-" + RUN, 3, Map.of("run", RUN, "zone", "b"), ct -> ct.setTcpCloseWait("2h"));
        await().atMost(WAIT).untilAsserted(() -> {
            assertThat(policiesOf(WORKER)).contains("late-" + RUN);
            assertThat(state(WORKER).getMetadata().getOwnerReferences()).singleElement()
                    .satisfies(o -> assertThat(o.getName()).isEqualTo(WORKER));
        });
        client.resources(ConntrackPolicy.class).withName("late-" + RUN).delete();
        await().atMost(WAIT).untilAsserted(() -> assertThat(policy("late-" + RUN)).isNull());
    }

    private static void createNode(String name, Map<String, String> labels, String cpu) {
        Node node = client.nodes().resource(new NodeBuilder().withNewMetadata().withName(name)
                .addToLabels(labels).addToLabels("run", RUN).endMetadata().build()).create();
        if (cpu != null) {
            node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
                    .addToCapacity("cpu", new Quantity(cpu)).build());
            client.nodes().resource(node).updateStatus();
        }
    }

    private static void createPolicy(String name, int priority, Map<String, String> labels, Consumer<ConntrackSettings> settings) {
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(name);
        policy.getSpec().setPriority(priority);
        policy.getSpec().setNodeSelector(new NodeSelector(labels, null));
        ConntrackSettings ct = new ConntrackSettings();
        settings.accept(ct);
        policy.getSpec().setConntrack(ct);
        // This test checks merging, not batching (FleetRolloutApiServerTest does): every node at once.
        dev.conntrack.api.RolloutSpec rollout = new dev.conntrack.api.RolloutSpec();
        rollout.setMaxUnavailable(new io.fabric8.kubernetes.api.model.IntOrString("100%"));
        policy.getSpec().setRollout(rollout);
        client.resource(policy).create();
    }

    /** What the node's agent does: report Applied for the node state's current generation. */
    private static void reportApplied(String node) {
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState state = state(node);
            ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
            status.setObservedGeneration(state.getMetadata().getGeneration());
            status.setConditions(List.of(
                    Conditions.of("Applied", true, "SettingsApplied", "all settings applied", state.getMetadata().getGeneration()),
                    Conditions.of("Degraded", false, "AllWritesAccepted", "", state.getMetadata().getGeneration()),
                    Conditions.of("TableFull", false, "NoDrops", "", state.getMetadata().getGeneration()),
                    Conditions.of("Pressure", false, "UsageNormal", "", state.getMetadata().getGeneration())));
            status.setConditions(Conditions.merge(List.of(), status.getConditions(), java.time.Instant.now()));
            state.setStatus(status);
            client.resource(state).updateStatus();
        });
    }

    private static void assertCondition(List<Condition> conditions, String type, String status, String reason) {
        Condition c = Conditions.find(conditions, type);
        assertThat(c).as(type + " in " + conditions).isNotNull();
        assertThat(c.getStatus()).as(type + ": " + c.getMessage()).isEqualTo(status);
        assertThat(c.getReason()).as(type + ": " + c.getMessage()).isEqualTo(reason);
    }

    private static List<String> policiesOf(String node) {
        List<String> policies = state(node).getSpec().getPolicies();
        return policies == null ? List.of() : policies;
    }

    private static ConntrackNodeState state(String node) {
        return client.resources(ConntrackNodeState.class).withName(node).get();
    }

    private static ConntrackPolicy policy(String name) {
        return client.resources(ConntrackPolicy.class).withName(name).get();
    }
}
