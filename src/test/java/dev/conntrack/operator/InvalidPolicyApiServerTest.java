package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.JSONSchemaProps;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A policy that slipped past the schema (created while the CRD did not check monitoring.pollInterval,
 * as an older CRD would not have) must not freeze the nodes it selects: the operator leaves its
 * values out of every node spec (merged into one, they would make the API server refuse that node's
 * every spec write, for all policies), another policy on the same node still arrives, and the bad
 * policy says what is wrong. Fixed, it arrives too.
 */
class InvalidPolicyApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "invalid-" + RUN;
    private static final String BAD = "bad-" + RUN;
    private static final String GOOD = "good-" + RUN;

    private static KubernetesClient client;
    private static RoleProcess operator;

    @BeforeAll
    static void createUnderALooserSchemaThenStartTheOperator() throws Exception {
        client = TestApiServer.newClient();
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).addToLabels("run", RUN).endMetadata().build())
                .create();
        loosenPollIntervalRule();
        try {
            client.resource(policy(BAD, p -> {
                MonitoringSpec monitoring = new MonitoringSpec();
                monitoring.setPollInterval("0s");
                p.getSpec().setMonitoring(monitoring);
            })).create();
        } finally {
            // Back to the committed CRDs: the bad object stays stored as it is.
            TestApiServer.installCrds(client);
        }
        client.resource(policy(GOOD, p -> {
            ConntrackSettings ct = new ConntrackSettings();
            ct.setTcpTimeWait("30s");
            p.getSpec().setConntrack(ct);
            p.getSpec().setPriority(5);
        })).create();
        operator = RoleProcess.operator(TestApiServer.kubeConfigFile(Files.createTempDirectory("invalid")), "operator-invalid");
    }

    @AfterAll
    static void stop() {
        try {
            client.resources(ConntrackPolicy.class).withName(BAD).delete();
            client.resources(ConntrackPolicy.class).withName(GOOD).delete();
            await().atMost(WAIT).until(() -> client.resources(ConntrackPolicy.class).withName(BAD).get() == null
                    && client.resources(ConntrackPolicy.class).withName(GOOD).get() == null);
        } finally {
            operator.close();
            client.resources(ConntrackNodeState.class).withName(NODE).delete();
            client.nodes().withName(NODE).delete();
            client.close();
        }
    }

    @Test
    void theOtherPolicyStillReachesTheNodeAndTheBadOneSaysWhatIsWrongUntilFixed() {
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
            assertThat(state).as(operator.logTail(30)).isNotNull();
            assertThat(state.getSpec().getPolicies()).containsExactly(GOOD);
            assertThat(state.getSpec().getConntrack().getTcpTimeWait()).isEqualTo("30s");
            assertThat(state.getSpec().getMonitoring().getPollInterval()).isEqualTo("1s");
        });
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackPolicy bad = client.resources(ConntrackPolicy.class).withName(BAD).get();
            assertThat(bad.getStatus()).as(operator.logTail(30)).isNotNull();
            Condition ready = Conditions.find(bad.getStatus().getConditions(), "Ready");
            assertThat(ready.getReason()).as(ready.getMessage()).isEqualTo("InvalidSettings");
            assertThat(ready.getMessage()).contains("monitoring.pollInterval").contains("\"0s\"");
            assertThat(Conditions.find(bad.getStatus().getConditions(), "Stalled").getStatus()).isEqualTo("True");
        });

        ConntrackPolicy fixed = client.resources(ConntrackPolicy.class).withName(BAD).get();
        fixed.getSpec().getMonitoring().setPollInterval("2s");
        fixed.setStatus(null);
        client.resource(fixed).update();
        await().atMost(WAIT).untilAsserted(() -> {
            ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
            assertThat(state.getSpec().getPolicies()).containsExactlyInAnyOrder(GOOD, BAD);
            assertThat(state.getSpec().getMonitoring().getPollInterval()).isEqualTo("2s");
            Condition ready = Conditions.find(client.resources(ConntrackPolicy.class).withName(BAD).get().getStatus().getConditions(), "Ready");
            assertThat(ready.getReason()).isNotEqualTo("InvalidSettings");
        });
    }

    /** The policy CRD as an older one might have been: monitoring.pollInterval without its CEL rule. */
    private static void loosenPollIntervalRule() {
        CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
                .withName("conntrackpolicies.conntrack.dev").get();
        JSONSchemaProps pollInterval = crd.getSpec().getVersions().get(0).getSchema().getOpenAPIV3Schema()
                .getProperties().get("spec").getProperties().get("monitoring").getProperties().get("pollInterval");
        pollInterval.setXKubernetesValidations(null);
        crd.getMetadata().setManagedFields(null);
        client.resource(crd).update();
        // The API server takes the new schema asynchronously: wait until it accepts what it refused.
        await().atMost(WAIT).ignoreExceptions().untilAsserted(() -> {
            ConntrackPolicy probe = policy("probe-" + RUN, p -> {
                MonitoringSpec monitoring = new MonitoringSpec();
                monitoring.setPollInterval("0s");
                p.getSpec().setMonitoring(monitoring);
            });
            client.resource(probe).dryRun().create();
        });
    }

    private static ConntrackPolicy policy(String name, java.util.function.Consumer<ConntrackPolicy> settings) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName(name);
        p.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        dev.conntrack.api.RolloutSpec rollout = new dev.conntrack.api.RolloutSpec();
        rollout.setMaxUnavailable(new IntOrString("100%"));
        p.getSpec().setRollout(rollout);
        settings.accept(p);
        return p;
    }
}
