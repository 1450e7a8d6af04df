package dev.conntrack.fleet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A simulated fleet on the shared test API server for the ApiServer-tier fleet tests: N Node
 * objects, N agents ({@link SimulatedFleet}, acting as the agent service account) and the
 * operator process (as its service account), started and torn down in order.
 */
final class FleetRig {
    final KubernetesClient admin = TestApiServer.newClient();
    final KubernetesClient agents = TestApiServer.newClientAs(TestApiServer.AGENT_USER);
    final SimulatedFleet fleet;
    final RoleProcess operator;
    private final Duration wait;

    /**
     * @param prepare called before the agents start (e.g. to break a node's writes)
     */
    FleetRig(String prefix, int nodes, Map<String, String> labels, Duration wait, Consumer<SimulatedFleet> prepare) {
        this.wait = wait;
        Path dir;
        try {
            dir = Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        fleet = new SimulatedFleet(agents, new SimulatedFleet.Options(prefix, nodes, labels, "4",
                dir, Duration.ofSeconds(2), Duration.ofSeconds(60), 4));
        prepare.accept(fleet);
        fleet.createNodes(admin, 8);
        operator = RoleProcess.start("operator", "operator-" + prefix, Map.of(
                "KUBECONFIG", TestApiServer.kubeConfigFile(dir).toString(),
                "CONNTRACK_AGENT_MANAGE_DAEMON_SET", "false",
                "KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.OPERATOR_USER,
                "QUARKUS_HTTP_PORT", "0"), "-Xmx192m");
    }

    /** Starts the agents and waits until every node has a node state its agent reported on. */
    void start() {
        fleet.start();
        await().atMost(wait).untilAsserted(() -> assertThat(fleet.states().stream().filter(s -> s.getStatus() != null).count())
                .as("node states created and reported\n" + operator.logTail(20)).isEqualTo(fleet.names().size()));
    }

    /** Deletes the policies (the finalizers go once the operator took them out of every spec), then everything else. */
    void close(String... policies) {
        try {
            for (String policy : policies) {
                admin.resources(ConntrackPolicy.class).withName(policy).delete();
            }
            if (operator.isAlive()) {
                await().atMost(wait).until(() -> java.util.Arrays.stream(policies)
                        .allMatch(p -> admin.resources(ConntrackPolicy.class).withName(p).get() == null));
            }
        } finally {
            fleet.close();
            operator.close();
            fleet.deleteNodes(admin, 8);
            agents.close();
            admin.close();
        }
    }
}
