package dev.conntrack.chart;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.testing.AgentRequests;
import dev.conntrack.testing.Chart;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.authentication.TokenRequest;
import io.fabric8.kubernetes.api.model.authentication.TokenRequestBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The chart's ValidatingAdmissionPolicies on the real API server: an agent may write only the
 * ConntrackNodeState of the node its token is bound to, and only Events about that node. The token is a real one: a TokenRequest
 * bound to a Pod scheduled on node A, which is what the kubelet mounts into an agent pod, so the
 * API server itself derives the node-name extra. Impersonation with and without that extra shows
 * the rule is about the extra, and the real agent process runs under the policy.
 *
 * <p>The chart is installed into its own namespace, so the policy matches only this namespace's
 * agent ServiceAccount: the shared fixture's agent (conntrack-system, impersonated without any
 * node-name extra by the other agent tests) is not matched, which one test here checks.
 */
class AgentAdmissionPolicyApiServerTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NS = "vap-" + RUN;
    private static final String RELEASE = "vap-" + RUN;
    private static final String NODE_A = "vap-a-" + RUN;
    private static final String NODE_B = "vap-b-" + RUN;
    private static final String AGENT_SA = "conntrack-agent";
    private static final String AGENT_USER = "system:serviceaccount:" + NS + ":" + AGENT_SA;
    /** Header names cannot carry '/': the API server percent-decodes Impersonate-Extra-* keys. */
    private static final String NODE_NAME_EXTRA = "authentication.kubernetes.io%2fnode-name";
    private static final String WRONG_NODE = "agent of node " + NODE_A + " may only write ConntrackNodeState " + NODE_A
            + ", not " + NODE_B;

    private static KubernetesClient admin;
    private static Path dir;
    private static Path kubeconfig;
    private static String tokenOfNodeA;
    private static KubernetesClient agentOfNodeA;

    @BeforeAll
    static void installAndBindAToken() throws Exception {
        admin = TestApiServer.newClient();
        dir = Files.createTempDirectory("vap");
        kubeconfig = TestApiServer.kubeConfigFile(dir);
        Chart.install(kubeconfig, RELEASE, NS);
        for (String node : List.of(NODE_A, NODE_B)) {
            admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(node).endMetadata().build()).create();
            ConntrackNodeState state = new ConntrackNodeState();
            state.getMetadata().setName(node);
            admin.resource(state).create();
        }
        // An agent pod on node A (no kubelet runs it; the API server only needs the object).
        Pod pod = admin.pods().inNamespace(NS).resource(new PodBuilder().withNewMetadata().withName("agent-a").endMetadata()
                .withNewSpec().withNodeName(NODE_A).withServiceAccountName(AGENT_SA)
                .addNewContainer().withName("agent").withImage("conntrack-operator:test").endContainer()
                .endSpec().build()).create();
        TokenRequest token = admin.serviceAccounts().inNamespace(NS).withName(AGENT_SA).tokenRequest(new TokenRequestBuilder()
                .withNewSpec().withExpirationSeconds(3600L)
                .withNewBoundObjectRef().withApiVersion("v1").withKind("Pod").withName(pod.getMetadata().getName())
                .withUid(pod.getMetadata().getUid()).endBoundObjectRef()
                .endSpec().build());
        tokenOfNodeA = token.getStatus().getToken();
        agentOfNodeA = clientWithToken(tokenOfNodeA);
        // The policy takes effect asynchronously after it is created: wait until it refuses.
        await().atMost(WAIT).untilAsserted(() -> assertRefused(() -> patchStatus(agentOfNodeA, NODE_B), WRONG_NODE));
    }

    @AfterAll
    static void uninstall() {
        Chart.uninstall(kubeconfig, RELEASE, NS);
        admin.namespaces().withName(NS).delete();
        for (String node : List.of(NODE_A, NODE_B)) {
            admin.resources(ConntrackNodeState.class).withName(node).delete();
            admin.nodes().withName(node).delete();
        }
        agentOfNodeA.close();
        admin.close();
    }

    @Test
    void nodeBoundTokenWritesItsOwnNodeStateOnly() {
        patchStatus(agentOfNodeA, NODE_A);
        assertThat(admin.resources(ConntrackNodeState.class).withName(NODE_A).get().getStatus().getAgentVersion())
                .isEqualTo("vap-test");
        // Set-up probed B until the policy took effect; one probe may have landed before it did.
        admin.resources(ConntrackNodeState.class).withName(NODE_B).subresource("status")
                .patch(io.fabric8.kubernetes.client.dsl.base.PatchContext.of(io.fabric8.kubernetes.client.dsl.base.PatchType.JSON_MERGE),
                        "{\"status\":null}");
        assertRefused(() -> patchStatus(agentOfNodeA, NODE_B), WRONG_NODE);
        assertThat(admin.resources(ConntrackNodeState.class).withName(NODE_B).get().getStatus()).isNull();
    }

    @Test
    void nodeBoundTokenWritesEventsAboutItsOwnNodeOnly() {
        String own = NODE_A + ".vap-own";
        agentOfNodeA.v1().events().inNamespace("default").resource(event(own, NODE_A)).create();
        AgentRequests.patchEvent(agentOfNodeA, "default", own, "{\"count\":2,\"message\":\"again\"}");
        assertThat(admin.v1().events().inNamespace("default").withName(own).get().getCount()).isEqualTo(2);

        String aboutB = "agent of node " + NODE_A + " may only write Events about Node " + NODE_A + ", not about Node " + NODE_B;
        assertRefused(() -> agentOfNodeA.v1().events().inNamespace("default").resource(event(NODE_B + ".vap-forged", NODE_B)).create(),
                aboutB);
        // Nor turn its own Event into one about another node, or patch another node's Event.
        assertRefused(() -> AgentRequests.patchEvent(agentOfNodeA, "default", own,
                "{\"involvedObject\":{\"name\":\"" + NODE_B + "\"}}"), aboutB);
        String theirs = NODE_B + ".vap-theirs";
        admin.v1().events().inNamespace("default").resource(event(theirs, NODE_B)).create();
        assertRefused(() -> AgentRequests.patchEvent(agentOfNodeA, "default", theirs, "{\"count\":5}"), aboutB);
        try (KubernetesClient noNode = impersonate(Map.of())) {
            assertRefused(() -> noNode.v1().events().inNamespace("default").resource(event(NODE_A + ".vap-no-node", NODE_A)).create(),
                    "conntrack agent requests must use a node-bound service account token");
        }
        admin.v1().events().inNamespace("default").withName(own).delete();
        admin.v1().events().inNamespace("default").withName(theirs).delete();
    }

    private static io.fabric8.kubernetes.api.model.Event event(String name, String node) {
        return new io.fabric8.kubernetes.api.model.EventBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewInvolvedObject().withKind("Node").withName(node).endInvolvedObject()
                .withReason("ConntrackApplied").withMessage("admission test").withType("Normal").build();
    }

    @Test
    void impersonatedNodeNameExtraIsJudgedTheSameWay() {
        try (KubernetesClient asA = impersonate(Map.of(NODE_NAME_EXTRA, List.of(NODE_A)))) {
            patchStatus(asA, NODE_A);
            assertRefused(() -> patchStatus(asA, NODE_B), WRONG_NODE);
        }
    }

    @Test
    void agentRequestsWithoutANodeBoundTokenAreRefused() {
        try (KubernetesClient noNode = impersonate(Map.of())) {
            assertRefused(() -> patchStatus(noNode, NODE_A),
                    "conntrack agent requests must use a node-bound service account token (no authentication.kubernetes.io/node-name"
                            + " in the request), refused to write ConntrackNodeState " + NODE_A);
        }
    }

    @Test
    void onlyThisReleasesAgentIsMatched() {
        // The shared fixture's agent identity (another namespace) and an administrator are not matched.
        try (KubernetesClient otherAgent = TestApiServer.newClientAs(TestApiServer.AGENT_USER)) {
            patchStatus(otherAgent, NODE_B);
        }
        patchStatus(admin, NODE_B);
        admin.resources(ConntrackNodeState.class).withName(NODE_B).subresource("status")
                .patch(PatchContext.of(PatchType.JSON), "[{\"op\":\"remove\",\"path\":\"/status\"}]");
    }

    @Test
    void theAgentProcessReportsItsOwnNodeAndIsRefusedAnothers() throws Exception {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        FakeHost.write(host.paths().conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt"));
        FakeHost.write(host.paths().slabinfo(), FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
        FakeHost.write(host.paths().uptime(), "100.00 150.00\n");
        FakeHost.write(host.paths().devKmsg(), "");
        Path tokenKubeconfig = dir.resolve("agent-a-kubeconfig");
        Files.writeString(tokenKubeconfig, kubeconfigWithToken(tokenOfNodeA));
        try (RoleProcess ownNode = agent("vap-agent-own", NODE_A, host, tokenKubeconfig);
                RoleProcess otherNode = agent("vap-agent-other", NODE_B, host, tokenKubeconfig)) {
            await().atMost(WAIT).untilAsserted(() -> {
                var status = admin.resources(ConntrackNodeState.class).withName(NODE_A).get().getStatus();
                assertThat(status).as(ownNode.logTail(20)).isNotNull();
                assertThat(status.getHeartbeatTime()).isNotNull();
            });
            // The same token on the wrong node: every status write of node B is refused with the policy's message.
            await().atMost(WAIT).untilAsserted(() -> assertThat(otherNode.logTail(200)).contains(WRONG_NODE));
            assertThat(admin.resources(ConntrackNodeState.class).withName(NODE_B).get().getStatus()).isNull();
        }
    }

    private static RoleProcess agent(String log, String node, FakeHost host, Path kubeconfig) {
        return RoleProcess.start("agent", log, Map.of(
                "NODE_NAME", node,
                "KUBECONFIG", kubeconfig.toString(),
                "CONNTRACK_HOST_ROOT", host.root().toString(),
                "CONNTRACK_STATE_DIR", dir.resolve("state-" + node).toString(),
                "CONNTRACK_METRICS_PORT", "0",
                "CONNTRACK_FORCE_OBSERVE_ONLY", "true"), "-Xmx64m");
    }

    private static void patchStatus(KubernetesClient client, String node) {
        AgentRequests.patchNodeStateStatus(client, node, "{\"status\":{\"agentVersion\":\"vap-test\"}}");
    }

    private static void assertRefused(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> {
                    assertThat(((KubernetesClientException) e).getCode()).as(e + " caused by " + e.getCause()).isEqualTo(403);
                    assertThat(e.getMessage()).contains(message);
                });
    }

    private static KubernetesClient impersonate(Map<String, List<String>> extras) {
        Config config = Config.fromKubeconfig(TestApiServer.kubeConfigYaml());
        config.setImpersonateUsername(AGENT_USER);
        config.setImpersonateExtras(extras);
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /** A client that authenticates with the bearer token only (no client certificate). */
    private static KubernetesClient clientWithToken(String token) {
        Config admin = Config.fromKubeconfig(TestApiServer.kubeConfigYaml());
        Config config = new ConfigBuilder(Config.empty()).withMasterUrl(admin.getMasterUrl())
                .withCaCertFile(admin.getCaCertFile()).withCaCertData(admin.getCaCertData()).withOauthToken(token).build();
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    private static String kubeconfigWithToken(String token) {
        Config admin = Config.fromKubeconfig(TestApiServer.kubeConfigYaml());
        return """
                apiVersion: v1
                kind: Config
                clusters:
                - name: test
                  cluster: {server: "%s", certificate-authority: "%s"}
                users:
                - name: agent-a
                  user: {token: "%s"}
                contexts:
                - name: agent-a
                  context: {cluster: test, user: agent-a}
                current-context: agent-a
                """.formatted(admin.getMasterUrl(), admin.getCaCertFile(), token);
    }
}
