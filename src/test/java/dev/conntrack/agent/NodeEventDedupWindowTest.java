package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The agent's Events are deduplicated by reason within 5 minutes of the first (README "Events"), as NodeAgent wires the recorder. */
class NodeEventDedupWindowTest {
    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-06T17:00:00Z"));
    private final RecordingClient client = new RecordingClient();
    private final NodeEventRecorder events = new NodeEventRecorder(client, "node-a", clock, NodeAgent.EVENT_WINDOW);

    /** Records what would be sent instead of sending it. */
    private static final class RecordingClient extends KubeClient {
        final List<String> calls = new ArrayList<>();

        @Override
        public String post(String path, String json) {
            calls.add("POST " + path + " " + json);
            return "{}";
        }

        @Override
        public String patch(String path, String contentType, String body) {
            calls.add("PATCH " + path + " " + body);
            return "{}";
        }
    }

    @Test
    void theSameReasonWithinFiveMinutesOfTheFirstBumpsItsCount() {
        assertThat(events.record("Warning", "TableFull", "first")).isTrue();
        clock.advance(Duration.ofMinutes(4).plusSeconds(59));
        assertThat(events.record("Warning", "TableFull", "second")).isFalse();
        clock.advance(Duration.ofMillis(999));
        assertThat(events.record("Warning", "TableFull", "third")).isFalse();

        assertThat(client.calls).hasSize(3);
        assertThat(client.calls.get(0)).startsWith("POST /api/v1/namespaces/default/events ").contains("\"reason\":\"TableFull\"");
        String name = "node-a.tablefull." + Long.toHexString(Instant.parse("2026-12-06T17:00:00Z").toEpochMilli());
        assertThat(client.calls.get(1)).startsWith("PATCH /api/v1/namespaces/default/events/" + name + " ")
                .contains("\"count\":2").contains("\"message\":\"second\"");
        assertThat(client.calls.get(2)).contains("\"count\":3").contains("\"message\":\"third\"");
    }

    @Test
    void fiveMinutesAfterTheFirstANewEventIsCreated() {
        events.record("Warning", "TableFull", "first");
        clock.advance(Duration.ofMinutes(5));
        assertThat(events.record("Warning", "TableFull", "again")).isTrue();
        assertThat(client.calls).hasSize(2);
        assertThat(client.calls.get(1)).startsWith("POST ").contains("\"message\":\"again\"");
    }

    @Test
    void eachReasonHasItsOwnEvent() {
        events.record("Warning", "TableFull", "full");
        assertThat(events.record("Normal", "ConntrackPressureExplained", "explained")).isTrue();
        assertThat(client.calls).allMatch(call -> call.startsWith("POST "));
    }
}
