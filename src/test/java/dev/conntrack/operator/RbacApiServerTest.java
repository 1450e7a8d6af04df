package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.testing.AgentRequests;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

/** The chart's RBAC on the real API server: each identity can do its job and nothing more. */
class RbacApiServerTest {
    private static final String NODE = "rbac-" + UUID.randomUUID().toString().substring(0, 8);
    private static KubernetesClient admin;
    private static KubernetesClient agent;
    private static KubernetesClient operator;

    @BeforeAll
    static void setUp() {
        admin = TestApiServer.newClient();
        agent = TestApiServer.newClientAs(TestApiServer.AGENT_USER);
        operator = TestApiServer.newClientAs(TestApiServer.OPERATOR_USER);
        admin.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).endMetadata().build()).create();
        ConntrackNodeState state = new ConntrackNodeState();
        state.getMetadata().setName(NODE);
        operator.resource(state).create();
    }

    @AfterAll
    static void tearDown() {
        admin.resources(ConntrackNodeState.class).withName(NODE).delete();
        admin.nodes().withName(NODE).delete();
        agent.close();
        operator.close();
        admin.close();
    }

    @Test
    void agentListsItsStatePatchesItsStatusAndWritesEventsInDefault() {
        assertThat(agent.resources(ConntrackNodeState.class).withField("metadata.name", NODE).list().getItems()).hasSize(1);
        AgentRequests.patch(agent, "/apis/conntrack.dev/v1alpha1/conntracknodestates/" + NODE + "/status", AgentRequests.JSON_PATCH,
                "[{\"op\":\"add\",\"path\":\"/status\",\"value\":{\"agentVersion\":\"test\"}}]");
        agent.v1().events().inNamespace("default").resource(event(NODE + ".rbac")).create();
        AgentRequests.patchEvent(agent, "default", NODE + ".rbac", "{\"count\":2}");
    }

    @Test
    void agentCannotChangeSpecsPoliciesNodesOrReadSecretsAndHasNoVerbItDoesNotUse() {
        ConntrackNodeState state = admin.resources(ConntrackNodeState.class).withName(NODE).get();
        state.getSpec().setPolicies(java.util.List.of("forged"));
        forbidden(() -> agent.resource(state).update());
        forbidden(() -> agent.resources(ConntrackNodeState.class).withName(NODE).delete());
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName("rbac-forged");
        forbidden(() -> agent.resource(policy).create());
        forbidden(() -> agent.nodes().withName(NODE).edit(n -> new NodeBuilder(n).editMetadata().addToLabels("x", "y").endMetadata().build()));
        forbidden(() -> agent.secrets().inNamespace(TestApiServer.NAMESPACE).list());
        // Unused since the agent reads its spec by a field selector and writes Events without reading them.
        forbidden(() -> agent.resources(ConntrackNodeState.class).withName(NODE).get());
        forbidden(() -> agent.nodes().withName(NODE).get());
        forbidden(() -> agent.v1().events().inNamespace("default").withName(NODE + ".rbac-get").get());
        forbidden(() -> agent.v1().events().inNamespace(TestApiServer.NAMESPACE).resource(event(NODE + ".elsewhere")).create());
    }

    @Test
    void operatorManagesStatesItsDaemonSetAndItsLeaseButNothingElse() {
        String name = NODE + "-policy";
        ConntrackPolicy created = new ConntrackPolicy();
        created.getMetadata().setName(name);
        admin.resource(created).create();
        try {
            // It reads the policies and the nodes (the lists hold the objects, not just an empty answer) ...
            assertThat(operator.resources(ConntrackPolicy.class).list().getItems())
                    .extracting(p -> p.getMetadata().getName()).contains(name);
            assertThat(operator.nodes().list().getItems()).extracting(n -> n.getMetadata().getName()).contains(NODE);
            // ... writes a policy's status and its finalizer, and nothing else of it ...
            operator.resources(ConntrackPolicy.class).withName(name).subresource("status")
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"status\":{\"observedGeneration\":1}}");
            operator.resources(ConntrackPolicy.class).withName(name)
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"finalizers\":[\"conntrack.dev/finalizer\"]}}");
            ConntrackPolicy seen = admin.resources(ConntrackPolicy.class).withName(name).get();
            assertThat(seen.getStatus().getObservedGeneration()).isEqualTo(1L);
            assertThat(seen.getMetadata().getFinalizers()).containsExactly("conntrack.dev/finalizer");
            // ... and edits node state specs.
            // (One PATCH, as NodeStatePatcher sends it: the operator never reads a node state by name.)
            AgentRequests.patch(operator, "/apis/conntrack.dev/v1alpha1/conntracknodestates/" + NODE, AgentRequests.MERGE_PATCH,
                    "{\"spec\":{\"policies\":[\"" + name + "\"]}}");
            assertThat(admin.resources(ConntrackNodeState.class).withName(NODE).get().getSpec().getPolicies()).containsExactly(name);
        } finally {
            admin.resources(ConntrackPolicy.class).withName(name)
                    .patch(PatchContext.of(PatchType.JSON_MERGE), "{\"metadata\":{\"finalizers\":null}}");
            admin.resources(ConntrackPolicy.class).withName(name).delete();
        }
        forbidden(() -> operator.nodes().withName(NODE).edit(n -> new NodeBuilder(n).editMetadata().addToLabels("x", "y").endMetadata().build()));
        forbidden(() -> operator.secrets().inNamespace(TestApiServer.NAMESPACE).list());
        forbidden(() -> operator.apps().daemonSets().inNamespace("default").resource(new DaemonSetBuilder()
                .withNewMetadata().withName("elsewhere").endMetadata().build()).create());
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName("rbac-op-forged");
        forbidden(() -> operator.resource(policy).create());
        // Node states: specs are written with create and patch; nothing reads one by name or deletes it.
        forbidden(() -> operator.resources(ConntrackNodeState.class).withName(NODE).get());
        forbidden(() -> operator.resources(ConntrackNodeState.class).withName(NODE).delete());
        forbidden(() -> operator.nodes().withName(NODE).get());
        // Its namespace: only the agent DaemonSet by name (creating cannot be limited to a name), and its Lease.
        String ns = TestApiServer.NAMESPACE;
        forbidden(() -> operator.apps().daemonSets().inNamespace(ns).list());
        forbidden(() -> AgentRequests.patch(operator, "/apis/apps/v1/namespaces/" + ns + "/daemonsets/other-daemonset",
                "application/merge-patch+json", "{\"metadata\":{\"labels\":{\"x\":\"y\"}}}"));
        assertThat(operator.apps().daemonSets().inNamespace(ns).withField("metadata.name", "conntrack-agent").list()).isNotNull();
        // What AgentDaemonSetManager does: server-side apply of the named DaemonSet (creating it when
        // missing). A dry run: another test's operator may own the real one.
        io.fabric8.kubernetes.api.model.apps.DaemonSet existing = admin.apps().daemonSets().inNamespace(ns).withName("conntrack-agent").get();
        io.fabric8.kubernetes.api.model.apps.DaemonSet agents = existing != null
                ? new DaemonSetBuilder().withNewMetadata().withName("conntrack-agent").withNamespace(ns).endMetadata()
                        .withSpec(existing.getSpec()).build()
                : new DaemonSetBuilder()
                        .withNewMetadata().withName("conntrack-agent").withNamespace(ns).endMetadata()
                        .withNewSpec().withNewSelector().addToMatchLabels("app", "rbac-test").endSelector()
                        .withNewTemplate().withNewMetadata().addToLabels("app", "rbac-test").endMetadata()
                        .withNewSpec().addNewContainer().withName("agent").withImage("conntrack-operator:rbac").endContainer().endSpec()
                        .endTemplate().endSpec().build();
        assertThat(operator.resource(agents).dryRun().fieldManager("rbac-test").forceConflicts().serverSideApply()).isNotNull();
        forbidden(() -> operator.leases().inNamespace(ns).withName("not-the-operators").get());
        forbidden(() -> operator.leases().inNamespace("default").withName("conntrack-operator").get());
    }

    private static io.fabric8.kubernetes.api.model.Event event(String name) {
        return new io.fabric8.kubernetes.api.model.EventBuilder()
                .withNewMetadata().withName(name).endMetadata()
                .withNewInvolvedObject().withKind("Node").withName(NODE).endInvolvedObject()
                .withReason("ConntrackApplied").withMessage("rbac test").withType("Normal").build();
    }

    private static void forbidden(Executable call) {
        assertThatThrownBy(call::execute)
                .isInstanceOf(KubernetesClientException.class)
                .satisfies(e -> assertThat(((KubernetesClientException) e).getCode()).isEqualTo(403));
    }
}
