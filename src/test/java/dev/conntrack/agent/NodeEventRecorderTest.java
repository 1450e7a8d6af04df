package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Events when the API server cannot take them: held, the newest per reason, and sent when it can. */
class NodeEventRecorderTest {
    private static final Instant START = Instant.parse("2026-12-06T16:00:00Z");

    /** Answers POSTs with the scripted failure, or records them. */
    private static final class Client extends KubeClient {
        final List<String> posted = new ArrayList<>();
        volatile KubeApiException failure;

        @Override
        public String post(String path, String json) throws KubeApiException {
            if (failure != null) {
                throw failure;
            }
            posted.add(json);
            return "{}";
        }
    }

    @Test
    void anEventTheServerCouldNotTakeIsSentLaterWithTheTimeItHappened() {
        Client client = new Client();
        SettableClock clock = new SettableClock(START);
        NodeEventRecorder events = new NodeEventRecorder(client, "node-a", clock, Duration.ofMinutes(5));
        client.failure = new KubeApiException(0, "API server unreachable: connect timed out");

        events.warning("ConntrackTableFull", "table full: the kernel drops new connections");
        assertThat(client.posted).isEmpty();
        assertThat(events.heldCount()).isEqualTo(1);

        client.failure = null;
        events.sendHeld();
        assertThat(client.posted).as("still in its backoff").isEmpty();
        clock.advance(Duration.ofSeconds(61));
        events.sendHeld();
        assertThat(client.posted).hasSize(1);
        assertThat(client.posted.get(0)).contains("\"reason\":\"ConntrackTableFull\"").contains("2026-12-06T16:00:00Z")
                .contains("table full: the kernel drops new connections");
        assertThat(events.heldCount()).isZero();
    }

    @Test
    void retryNowSendsAHeldEventWithoutWaitingForTheBackoff() {
        Client client = new Client();
        SettableClock clock = new SettableClock(START);
        NodeEventRecorder events = new NodeEventRecorder(client, "node-a", clock, Duration.ofMinutes(5));
        client.failure = new KubeApiException(503, "HTTP 503", null, 60);
        events.warning("ConntrackTableFull", "first");
        events.warning("ConntrackTableFull", "second");
        client.failure = null;

        events.retryNow();
        events.sendHeld();

        assertThat(client.posted).as("the newest of the reason, once").hasSize(1);
        assertThat(client.posted.get(0)).contains("second");
    }

    @Test
    void anEventTheServerRefusedIsNotHeld() {
        Client client = new Client();
        NodeEventRecorder events = new NodeEventRecorder(client, "node-a", new SettableClock(START), Duration.ofMinutes(5));
        client.failure = new KubeApiException(403, "HTTP 403 from /api/v1/namespaces/default/events: forbidden");
        events.warning("ConntrackTableFull", "table full");
        assertThat(events.heldCount()).isZero();
    }
}
