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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
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
    /** Every operator process started, the first one included. */
    final List<RoleProcess> operators = new CopyOnWriteArrayList<>();
    private final Duration wait;
    private final Path dir;

    /**
     * @param prepare called before the agents start (e.g. to break a node's writes)
     */
    FleetRig(String prefix, int nodes, Map<String, String> labels, Duration wait, Consumer<SimulatedFleet> prepare) {
        this(prefix, nodes, labels, wait, prepare, Map.of());
    }

    /** @param operatorEnv more environment of the operator (e.g. leader election timings) */
    FleetRig(String prefix, int nodes, Map<String, String> labels, Duration wait, Consumer<SimulatedFleet> prepare,
            Map<String, String> operatorEnv) {
        this.wait = wait;
        try {
            dir = Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        fleet = new SimulatedFleet(agents, new SimulatedFleet.Options(prefix, nodes, labels, "4",
                dir, Duration.ofSeconds(2), Duration.ofSeconds(60), 4));
        prepare.accept(fleet);
        fleet.createNodes(admin, 8);
        operator = startOperator("operator-" + prefix, operatorEnv);
    }

    /** One more operator process, as the chart's service account, its log under target/role-logs/LOG.log. */
    RoleProcess startOperator(String log, Map<String, String> env) {
        Map<String, String> all = new HashMap<>(env);
        all.put("KUBECONFIG", TestApiServer.kubeConfigFile(dir).toString());
        all.put("CONNTRACK_AGENT_MANAGE_DAEMON_SET", "false");
        all.put("KUBERNETES_IMPERSONATE_USERNAME", TestApiServer.OPERATOR_USER);
        all.put("QUARKUS_HTTP_PORT", "0");
        RoleProcess process = RoleProcess.start("operator", log, all, "-Xmx192m");
        operators.add(process);
        return process;
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
            if (operators.stream().anyMatch(RoleProcess::isAlive)) {
                await().atMost(wait).until(() -> java.util.Arrays.stream(policies)
                        .allMatch(p -> admin.resources(ConntrackPolicy.class).withName(p).get() == null));
            }
        } finally {
            fleet.close();
            operators.forEach(RoleProcess::close);
            fleet.deleteNodes(admin, 8);
            agents.close();
            admin.close();
        }
    }
}
