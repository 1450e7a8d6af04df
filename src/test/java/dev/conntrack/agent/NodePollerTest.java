package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.TableExplanation;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgWatcher;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One agent's poll without threads, over a fake kernel tree: what a poll reads, decides and reports. */
class NodePollerTest {
    @TempDir
    Path dir;

    /** Records the status patches instead of sending them. */
    private static final class RecordingClient extends KubeClient {
        final List<String> patches = new ArrayList<>();

        @Override
        public String patch(String path, String contentType, String body) throws KubeApiException {
            patches.add(body);
            return "{}";
        }

        @Override
        public String post(String path, String json) {
            return "{}";
        }
    }

    @Test
    void whenAFullTableHasRoomAgainTheStatusThatCouldNotBeWrittenGoesOutAtOnce() {
        // On a node the agent reaches the API server through the kubernetes Service's DNAT: while
        // the table is full its new connections are dropped like the load's. Once the table has
        // room it must not wait out a backoff (the clock stands still here: any wait is forever).
        HostPaths paths = fullTable();
        ConntrackNodeState state = state();
        java.util.concurrent.atomic.AtomicBoolean unreachable = new java.util.concurrent.atomic.AtomicBoolean(true);
        List<String> written = new ArrayList<>();
        KubeClient client = new KubeClient() {
            @Override
            public String patch(String path, String contentType, String body) throws KubeApiException {
                if (unreachable.get()) {
                    throw new KubeApiException(0, "API server unreachable: connect timed out");
                }
                written.add(body);
                return "{}";
            }

            @Override
            public String post(String path, String json) throws KubeApiException {
                throw new KubeApiException(0, "API server unreachable: connect timed out");
            }
        };
        NodePoller poller = poller(paths, state, client,
                new dev.conntrack.testing.SettableClock(java.time.Instant.parse("2026-12-06T16:00:00Z")));

        poller.pollOnce();
        poller.reportOnce();
        assertThat(written).as("the table is full: nothing reaches the API server").isEmpty();
        unreachable.set(false);
        poller.reportOnce();
        assertThat(written).as("still backing off, the table still full").isEmpty();

        FakeHost.write(paths.conntrackCount(), "600\n");
        poller.pollOnce();
        poller.reportOnce();
        assertThat(written).as("room again: written at once, not after the backoff").hasSize(1);
    }

    @Test
    void theTableListingEstimatesWithTheLiveTimeoutOfASettingNoPolicyManages() {
        // The NAT lab's router table as captured: 1000 entries, nearly all TIME_WAIT; tcpTimeWait is
        // not in the spec (only max is), and the kernel has its default, 120 s.
        HostPaths paths = fullTable();
        FakeHost.write(paths.conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        FakeHost.write(paths.slabinfo(), FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
        FakeHost.write(paths.conntrackTable(), FakeHost.fixture("proc-net-nf_conntrack.table-full.txt"));
        ConntrackNodeState state = state();
        state.getSpec().setConntrack(new ConntrackSettings());
        state.getSpec().getConntrack().setMax(1000);
        RecordingClient client = new RecordingClient();
        NodePoller poller = poller(paths, state, client, Clock.systemUTC());

        poller.pollOnce();
        poller.pollOnce();
        poller.reportOnce();

        assertThat(client.patches).isNotEmpty();
        String status = client.patches.get(client.patches.size() - 1);
        assertThat(status).contains("\"explanation\"").contains("TIME_WAIT holds");
        assertThat(status).as("the live 120 s, not an unknown value").contains("tcpTimeWait 120s -> 30s would free about")
                .doesNotContain("current value unknown");
    }

    /** A fake kernel whose table is full: 1000 entries of max 1000. */
    private HostPaths fullTable() {
        FakeHost host = FakeHost.withConntrack(dir.resolve("host"));
        HostPaths paths = host.paths();
        host.set(ConntrackKey.MAX, "1000");
        FakeHost.write(paths.conntrackCount(), "1000\n");
        FakeHost.write(paths.uptime(), "100.00 150.00\n");
        return paths;
    }

    private static ConntrackNodeState state() {
        ConntrackNodeState state = new ConntrackNodeState();
        state.getMetadata().setName("node-a");
        state.getMetadata().setGeneration(1L);
        state.setSpec(new ConntrackNodeStateSpec());
        return state;
    }

    /** A poller for node-a; table listings run on the poll's thread (Runnable::run), so the poll after the first sees the result. */
    private NodePoller poller(HostPaths paths, ConntrackNodeState state, KubeClient client, Clock clock) {
        AgentConfig config = new AgentConfig("node-a", paths.root(), dir.resolve("state"), 0, 0, Duration.ofSeconds(60), false,
                "test", List.of());
        return new NodePoller(config, paths, new KmsgWatcher(paths, clock), () -> Optional.of(state),
                new AgentMetrics(new PrometheusRegistry()), new StatusReporter(client, "node-a", clock, Duration.ofSeconds(60)),
                new NodeEventRecorder(client, "node-a", clock, Duration.ofMinutes(5)), clock, Runnable::run);
    }
}
