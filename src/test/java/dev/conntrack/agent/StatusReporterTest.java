package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** When the agent writes its status: on a significant change at once, otherwise on the heartbeat. */
class StatusReporterTest {
    private static final Duration HEARTBEAT = Duration.ofSeconds(60);

    /** Records the status patches instead of sending them (KubeClient's constructor for such subclasses); refuses them while {@code down}. */
    private static final class RecordingClient extends KubeClient {
        final List<String> patches = new ArrayList<>();
        boolean down;
        long retryAfter = -1;

        @Override
        public String patch(String path, String contentType, String body) throws KubeApiException {
            if (down) {
                throw new KubeApiException(retryAfter >= 0 ? 429 : 503, "unavailable", null, retryAfter);
            }
            patches.add(path + " " + body);
            return "{}";
        }
    }

    private final RecordingClient client = new RecordingClient();
    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-06T10:00:00Z"));
    private final StatusReporter reporter = new StatusReporter(client, "node-a", clock, HEARTBEAT);

    private static ConntrackNodeStateStatus status(String tableFull, long drops) {
        ConntrackNodeStateStatus s = new ConntrackNodeStateStatus();
        s.setObservedGeneration(3L);
        s.setConditions(List.of(Conditions.create("TableFull", tableFull, "R" + tableFull, "m", 3L)));
        s.setCurrent(Map.of("max", "262144"));
        DropCounters counters = new DropCounters();
        counters.setDrop(drops);
        s.setCounters(counters);
        return s;
    }

    @Test
    void theFirstStatusIsWrittenAndOfferingItAgainWritesNothingUntilTheHeartbeat() {
        ConntrackNodeStateStatus first = status("False", 0);
        assertThat(reporter.offer(first)).isTrue();
        assertThat(client.patches).singleElement().asString()
                .startsWith(NodeSpecWatch.PATH + "/node-a/status ");

        for (int i = 0; i < 5; i++) {
            clock.advance(Duration.ofMillis(200));
            assertThat(reporter.offer(first)).isFalse();
        }
        clock.advance(HEARTBEAT);
        assertThat(reporter.offer(first)).as("heartbeat").isTrue();
        assertThat(reporter.writes()).isEqualTo(2);
    }

    @Test
    void liveCountersRideOnTheHeartbeatButAConditionChangeIsWrittenAtOnce() {
        reporter.offer(status("False", 0));
        clock.advance(Duration.ofSeconds(1));
        assertThat(reporter.offer(status("False", 5))).as("only a counter moved").isFalse();

        clock.advance(Duration.ofSeconds(1));
        ConntrackNodeStateStatus dropping = status("True", 90);
        assertThat(reporter.offer(dropping)).isTrue();
        assertThat(client.patches.get(1)).contains("\"True\"");
        // Offered again (the reporting thread wakes several times per poll): already written.
        assertThat(reporter.offer(dropping)).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(reporter.offer(status("False", 90))).as("and back").isTrue();
        assertThat(reporter.writes()).isEqualTo(3);
    }

    @Test
    void aRefusedWriteKeepsTheNewestStatusAndRetriesAfterTheBackoff() {
        reporter.offer(status("False", 0));
        client.down = true;
        clock.advance(Duration.ofSeconds(1));
        ConntrackNodeStateStatus dropping = status("True", 90);
        assertThat(reporter.offer(dropping)).isFalse();
        assertThat(reporter.failures()).isEqualTo(1);

        client.down = false;
        clock.advance(Duration.ofMillis(500));
        assertThat(reporter.offer(dropping)).as("within the retry backoff").isFalse();
        clock.advance(Duration.ofSeconds(2));
        assertThat(reporter.offer(dropping)).as("the same status, still unwritten").isTrue();
        assertThat(client.patches).hasSize(2);
        assertThat(client.patches.get(1)).contains("\"True\"");
    }

    @Test
    void aPollThatStoppedCompletingGetsNoHeartbeat() {
        ConntrackNodeStateStatus last = status("False", 0);
        assertThat(reporter.offer(last, true)).isTrue();
        clock.advance(HEARTBEAT.multipliedBy(3));
        // The poll thread died or hangs: its last status must not look fresh.
        assertThat(reporter.offer(last, false)).isFalse();
        assertThat(client.patches).hasSize(1);
        assertThat(reporter.offer(last, true)).as("the poll is back").isTrue();
    }

    @Test
    void anOverloadedServersRetryAfterIsHonoured() {
        reporter.offer(status("False", 0));
        client.down = true;
        client.retryAfter = 20;
        clock.advance(Duration.ofSeconds(1));
        ConntrackNodeStateStatus dropping = status("True", 90);
        assertThat(reporter.offer(dropping)).isFalse();
        client.down = false;
        clock.advance(Duration.ofSeconds(19));
        assertThat(reporter.offer(dropping)).as("the server asked for 20 s").isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(reporter.offer(dropping)).isTrue();
    }
}
