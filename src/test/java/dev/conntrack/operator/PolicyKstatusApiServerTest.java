package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.AgentStatusWriter;
import dev.conntrack.testing.KstatusReader;
import dev.conntrack.testing.KstatusReader.Status;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What a GitOps tool sees of a ConntrackPolicy while the operator process runs: a fresh policy is
 * InProgress until its node reports Applied, then Current, and stays Current without further
 * status writes; the operator never changes the spec (generation stays put); a spec edit is
 * InProgress again until the node reports the new generation; a node that refuses the settings
 * makes it Failed; an ObserveOnly audit of higher priority on its node makes it Failed (held: it is
 * not in force there) while the audit is Current, and Current again once the audit is gone. The
 * agent is simulated by patching the node state's status, as the agent does.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PolicyKstatusApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "kstatus-" + RUN;
    private static final String POLICY = "kstatus-" + RUN;

    private static KubernetesClient client;
    private static RoleProcess operator;

    /** One sample of the policy as a GitOps tool would poll it. */
    private record Sample(Instant at, KstatusReader.Result result, String resourceVersion, Long generation, Object spec) {
    }

    @BeforeAll
    static void start() throws Exception {
        client = TestApiServer.newClient();
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).addToLabels("run", RUN).endMetadata().build())
                .create();
        operator = RoleProcess.start("operator", "operator-kstatus", Map.of(
                "KUBECONFIG", TestApiServer.kubeConfigFile(Files.createTempDirectory("kstatus")).toString(),
                "CONNTRACK_AGENT_MANAGE_DAEMON_SET", "false",
                "KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.OPERATOR_USER,
                "QUARKUS_HTTP_PORT", "0"), "-Xmx192m");
        await().atMost(WAIT).untilAsserted(() -> assertThat(state()).as(operator.logTail(30)).isNotNull());
    }

    @AfterAll
    static void stop() {
        client.resources(ConntrackPolicy.class).withName(POLICY).delete();
        await().atMost(WAIT).until(() -> client.resources(ConntrackPolicy.class).withName(POLICY).get() == null);
        operator.close();
        client.resources(ConntrackNodeState.class).withName(NODE).delete();
        client.nodes().withName(NODE).delete();
        client.close();
    }

    @Test
    @Order(1)
    void freshPolicyGoesInProgressThenCurrentAndStaysThere() throws Exception {
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();
        poller.scheduleWithFixedDelay(() -> {
            GenericKubernetesResource p = policy();
            if (p != null) {
                samples.add(new Sample(Instant.now(), KstatusReader.read(map(p)),
                        p.getMetadata().getResourceVersion(), p.getMetadata().getGeneration(), p.getAdditionalProperties().get("spec")));
            }
        }, 0, 100, TimeUnit.MILLISECONDS);
        try {
            createPolicy();
            Object writtenSpec = await().atMost(WAIT).until(() -> policy(), p -> p != null).getAdditionalProperties().get("spec");

            // The operator has rolled the policy up (observedGeneration 1) but the node has not applied it.
            await().atMost(WAIT).untilAsserted(() -> {
                GenericKubernetesResource p = policy();
                assertThat(p.getAdditionalProperties()).containsKey("status");
                KstatusReader.Result result = KstatusReader.read(map(p));
                assertThat(result.status()).as(operator.logTail(20)).isEqualTo(Status.InProgress);
                // The rollout (10% batches by default, at least one node) says where it is.
                assertThat(result.message()).startsWith("Rolling out generation 1: 0 of 1 nodes updated");
                // kstatus' generic rules alone (Flux's default) agree: the policy sets Reconciling while applying.
                assertThat(KstatusReader.kstatus(map(p)).status()).isEqualTo(Status.InProgress);
            });
            await().during(Duration.ofSeconds(2)).atMost(Duration.ofSeconds(4)).untilAsserted(() ->
                    assertThat(KstatusReader.read(map(policy())).status()).as("still waiting for the node").isEqualTo(Status.InProgress));

            Instant applied = Instant.now();
            reportNode(true, false);
            await().atMost(WAIT).untilAsserted(() -> assertThat(KstatusReader.read(map(policy())))
                    .isEqualTo(new KstatusReader.Result(Status.Current, "All 1 selected nodes applied generation 1")));

            // Settled: no more status writes, no flapping, and the operator never touched the spec.
            String settledVersion = policy().getMetadata().getResourceVersion();
            Thread.sleep(5000);
            poller.shutdown();
            poller.awaitTermination(5, TimeUnit.SECONDS);
            assertThat(policy().getMetadata().getResourceVersion()).isEqualTo(settledVersion);
            List<Status> sequence = distinctRuns(samples);
            assertThat(sequence).containsExactly(Status.InProgress, Status.Current);
            assertThat(samples).allSatisfy(s -> {
                assertThat(s.generation()).isEqualTo(1L);
                assertThat(s.spec()).isEqualTo(writtenSpec);
                if (s.at().isBefore(applied)) {
                    assertThat(s.result().status()).isEqualTo(Status.InProgress);
                }
            });
        } finally {
            poller.shutdownNow();
        }
    }

    @Test
    @Order(2)
    void specEditIsInProgressUntilTheNodeReportsItAndARefusingNodeIsFailed() {
        await().atMost(WAIT).until(() -> policy() != null);
        reportNode(true, false);
        await().atMost(WAIT).until(() -> KstatusReader.read(map(policy())).status() == Status.Current);

        ConntrackPolicy edited = client.resources(ConntrackPolicy.class).withName(POLICY).get();
        edited.getSpec().getConntrack().setTcpTimeWait("45s");
        client.resource(edited).update();
        await().atMost(WAIT).untilAsserted(() -> {
            GenericKubernetesResource p = policy();
            assertThat(p.getMetadata().getGeneration()).isEqualTo(2L);
            assertThat(KstatusReader.read(map(p)).status()).isEqualTo(Status.InProgress);
            assertThat(state().getSpec().getPolicyGenerations()).containsEntry(POLICY, 2L);
        });

        reportNode(false, true);
        await().atMost(WAIT).untilAsserted(() -> {
            KstatusReader.Result result = KstatusReader.read(map(policy()));
            // Stalled (kstatus' own Failed): the refusing node paused the rollout of generation 2.
            assertThat(result.status()).isEqualTo(Status.Failed);
            assertThat(result.message()).contains(NODE).contains("paused");
        });

        reportNode(true, false);
        await().atMost(WAIT).untilAsserted(() -> assertThat(KstatusReader.read(map(policy())))
                .isEqualTo(new KstatusReader.Result(Status.Current, "All 1 selected nodes applied generation 2")));
    }

    @Test
    @Order(3)
    void anEnforcePolicyHeldByAnAuditIsNotCurrentAndSaysByWhomAndWhere() {
        await().atMost(WAIT).until(() -> policy() != null);
        String audit = "kstatus-audit-" + RUN;
        ConntrackPolicy observe = new ConntrackPolicy();
        observe.getMetadata().setName(audit);
        observe.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        observe.getSpec().setPriority(1000);
        observe.getSpec().setMode(Mode.ObserveOnly);
        client.resource(observe).create();
        try {
            await().atMost(WAIT).untilAsserted(() -> assertThat(state().getSpec().getMode()).isEqualTo(Mode.ObserveOnly));
            reportNode(true, false);
            await().atMost(WAIT).untilAsserted(() -> {
                KstatusReader.Result result = KstatusReader.read(map(policy()));
                assertThat(result.status()).as(result.message()).isEqualTo(Status.Failed);
                assertThat(result.message()).contains(audit).contains(NODE).contains("only observe");
                // kstatus alone (Flux's default) reads Stalled, with the same words.
                assertThat(KstatusReader.kstatus(map(policy())).message()).isEqualTo(result.message());
                ConntrackPolicy held = client.resources(ConntrackPolicy.class).withName(POLICY).get();
                assertThat(held.getStatus().getNodes().getApplied()).isZero();
                assertThat(held.getStatus().getNodes().getHeldByObserveOnly()).isEqualTo(1);
            });
            assertThat(KstatusReader.read(map(auditPolicy(audit))).status()).as("the audit itself is Current").isEqualTo(Status.Current);
        } finally {
            client.resources(ConntrackPolicy.class).withName(audit).delete();
        }

        // The audit leaves: the node goes back to enforcing, through the rollout, and the policy is Current again.
        await().atMost(WAIT).untilAsserted(() -> assertThat(state().getSpec().getMode()).isEqualTo(Mode.Enforce));
        reportNode(true, false);
        await().atMost(WAIT).untilAsserted(() -> assertThat(KstatusReader.read(map(policy())).status()).isEqualTo(Status.Current));
        await().atMost(WAIT).until(() -> auditPolicy(audit) == null);
    }

    private static GenericKubernetesResource auditPolicy(String name) {
        return client.genericKubernetesResources("conntrack.dev/v1alpha1", "ConntrackPolicy").withName(name).get();
    }

    private static void createPolicy() {
        if (client.resources(ConntrackPolicy.class).withName(POLICY).get() != null) {
            return;
        }
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(POLICY);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        ConntrackSettings settings = new ConntrackSettings();
        settings.setTcpTimeWait("30s");
        policy.getSpec().setConntrack(settings);
        client.resource(policy).create();
    }

    /** What the node's agent writes: Applied (or a refused write) for the node state's current generation. */
    private static void reportNode(boolean applied, boolean degraded) {
        createPolicy();
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState state = state();
            assertThat(state.getSpec().getPolicies()).contains(POLICY);
            AgentStatusWriter.report(client, state, applied, degraded, "");
        });
    }

    private static List<Status> distinctRuns(List<Sample> samples) {
        List<Status> runs = new ArrayList<>();
        synchronized (samples) {
            for (Sample s : samples) {
                if (runs.isEmpty() || runs.get(runs.size() - 1) != s.result().status()) {
                    runs.add(s.result().status());
                }
            }
        }
        return runs;
    }

    private static Map<String, Object> map(GenericKubernetesResource p) {
        return client.getKubernetesSerialization().convertValue(p, Map.class);
    }

    private static GenericKubernetesResource policy() {
        return client.genericKubernetesResources("conntrack.dev/v1alpha1", "ConntrackPolicy").withName(POLICY).get();
    }

    private static ConntrackNodeState state() {
        return client.resources(ConntrackNodeState.class).withName(NODE).get();
    }
}
