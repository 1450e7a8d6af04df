package dev.conntrack.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.kernel.FakeHost;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One simulated node for API-server tier tests: a Node object, a fake kernel tree built from the
 * captured kernel files, the operator and an agent (over that tree) as processes, both running as
 * the chart's service accounts.
 */
public final class FakeNodeRig implements AutoCloseable {
    /** The poll duration summary's count: polls the agent completed. */
    private static final String POLLS = "conntrack_agent_poll_duration_seconds_count";
    public final String run = UUID.randomUUID().toString().substring(0, 8);
    public final String node;
    public final KubernetesClient client;
    public final FakeHost host;
    public RoleProcess operator;
    public final RoleProcess agent;
    public final int metricsPort;
    /** The admin kubeconfig (for kubectl run by the test). */
    public final Path kubeconfig;
    /** The agent's state directory (its originals file). */
    public final Path stateDir;

    public FakeNodeRig(String prefix) {
        try {
            node = prefix + "-" + run;
            Path dir = Files.createTempDirectory(prefix);
            host = FakeHost.withConntrack(dir.resolve("host"));
            FakeHost.write(host.paths().conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt"));
            FakeHost.write(host.paths().slabinfo(), FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
            FakeHost.write(host.paths().uptime(), "100.00 150.00\n");
            FakeHost.write(host.paths().devKmsg(), "");
            client = TestApiServer.newClient();
            TestApiServer.registerNode(client, node, Map.of("run", run), null);
            kubeconfig = TestApiServer.kubeConfigFile(dir);
            stateDir = dir.resolve("state");
            operator = RoleProcess.operator(kubeconfig, "operator-" + prefix);
            metricsPort = freePort();
            agent = RoleProcess.agent(kubeconfig, "agent-" + prefix, node, stateDir, Map.of(
                    "CONNTRACK_HOST_ROOT", host.root().toString(),
                    "CONNTRACK_METRICS_PORT", Integer.toString(metricsPort)), "-Xmx64m");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Stops the operator (SIGTERM) and starts a new one, without waiting for it to be ready. */
    public void restartOperator() {
        operator.close();
        operator = RoleProcess.operator(kubeconfig, "operator-" + node);
    }

    public ConntrackNodeStateStatus status() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(node).get();
        return state == null ? null : state.getStatus();
    }

    public List<String> eventReasons() {
        return client.v1().events().inNamespace("default").list().getItems().stream()
                .filter(e -> node.equals(e.getInvolvedObject().getName()))
                .map(Event::getReason)
                .toList();
    }

    public double metric(String name) {
        try {
            String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + metricsPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + " ([0-9.eE+-]+)$").matcher(body);
            assertThat(m.find()).as(name + " in\n" + body).isTrue();
            return Double.parseDouble(m.group(1));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits until the agent has completed {@code polls} more polls: at least one a second (the
     * default pollInterval), with 3 s to spare. For "the next polls leave X alone": wait for the
     * polls, then check X, instead of sleeping for a time the polls may or may not have used.
     */
    public void awaitPolls(int polls) {
        double before = metric(POLLS);
        await().atMost(Duration.ofSeconds(polls + 3L)).until(() -> metric(POLLS) >= before + polls);
    }

    @Override
    public void close() {
        agent.close();
        operator.close();
        client.nodes().withName(node).delete();
        client.close();
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
