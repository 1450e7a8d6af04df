package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.testing.NetnsLab;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * The operator and an agent as processes, the real API server, and nft for real, but only inside a
 * lab network namespace: the agent is started with CONNTRACK_NFT_COMMAND="ip netns exec LAB nft",
 * so the host's ruleset is never read or written. The policy sets nothing but notrack rules, so
 * the agent writes no sysctl. A policy with rules makes the agent install its table in the lab;
 * a table deleted by hand is put back; deleting the policy deletes the table.
 */
class NotrackAgentE2ETest {
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "notrack-" + RUN;
    private static final String POLICY = "notrack-" + RUN;

    @Test
    void theAgentInstallsReinstallsAndRemovesItsTableFollowingTheSpec() throws Exception {
        assumeTrue(NetnsLab.available(), "needs root, ip and nft");
        Path dir = Files.createTempDirectory("notrack-e2e");
        try (NetnsLab lab = NetnsLab.create("ct-nt-e2e"); KubernetesClient client = TestApiServer.newClient()) {
            TestApiServer.registerNode(client, NODE, Map.of("run", RUN), "2");
            try (RoleProcess operator = RoleProcess.operator(TestApiServer.kubeConfigFile(dir), "operator-notrack");
                 RoleProcess agent = RoleProcess.agent(TestApiServer.kubeConfigFile(dir), "agent-notrack", NODE, dir.resolve("state"),
                         Map.of("CONNTRACK_METRICS_PORT", "0", "CONNTRACK_HEARTBEAT_SECONDS", "5",
                                 "CONNTRACK_NFT_COMMAND", "ip netns exec " + lab.name() + " nft"),
                         "-Xmx64m", "-XX:+UseSerialGC")) {
                ConntrackPolicy policy = new ConntrackPolicy();
                policy.getMetadata().setName(POLICY);
                policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
                ConntrackSettings settings = new ConntrackSettings();
                settings.setNotrack(List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "127.0.0.0/8")));
                policy.getSpec().setConntrack(settings);
                client.resource(policy).create();

                await().atMost(WAIT).untilAsserted(() -> {
                    assertThat(labRules(lab)).as(agent.logTail(30)).isEqualTo(4);
                    NotrackStatus status = notrackStatus(client);
                    assertThat(status).isNotNull();
                    assertThat(status.getState()).isEqualTo(NotrackStatus.INSTALLED);
                    assertThat(status.getInstalled()).isEqualTo(4);
                    assertThat(status.getRules()).containsExactly("udp 53 127.0.0.0/8");
                });
                await().atMost(WAIT).untilAsserted(() -> assertThat(eventReasons(client)).contains("ConntrackNotrackInstalled"));

                // Someone deletes the table: the agent's next check (at most 10 s later, docs/notrack.md) puts it back.
                lab.exec(30, "nft", "delete", "table", "inet", "conntrack_operator").ok("delete the table by hand");
                await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
                    assertThat(labRules(lab)).as(agent.logTail(30)).isEqualTo(4);
                    assertThat(eventReasons(client)).contains("ConntrackExternalOverride");
                });

                client.resources(ConntrackPolicy.class).withName(POLICY).delete();
                await().atMost(WAIT).untilAsserted(() -> {
                    assertThat(labRules(lab)).as(agent.logTail(30)).isEqualTo(-1);
                    assertThat(eventReasons(client)).contains("ConntrackNotrackRemoved");
                });
                assertThat(lab.exec(30, "nft", "list", "tables").ok("nft list tables").stdout()).doesNotContain("conntrack_operator");
            } finally {
                client.resources(ConntrackPolicy.class).withName(POLICY).delete();
                client.nodes().withName(NODE).delete();
            }
        }
    }

    /** Rules of our table in the lab namespace, or -1 when the table does not exist. */
    private static int labRules(NetnsLab lab) throws Exception {
        NetnsLab.Run run = lab.exec(30, "nft", "list", "table", "inet", "conntrack_operator");
        if (run.exit() != 0) {
            return -1;
        }
        return (int) run.stdout().lines().filter(l -> l.contains(" notrack ")).count();
    }

    private static NotrackStatus notrackStatus(KubernetesClient client) {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        return state == null || state.getStatus() == null ? null : state.getStatus().getNotrack();
    }

    private static List<String> eventReasons(KubernetesClient client) {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> NODE.equals(e.getInvolvedObject().getName()))
                .map(Event::getReason)
                .toList();
    }
}
