package dev.conntrack.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Writes this node's status, and only this node's: at once when something meaningful changed
 * (conditions, generation, values, originals), otherwise once per heartbeat, so a quiet node
 * writes about once a minute whatever the poll interval. When the API server is unreachable it
 * keeps the newest status and writes it when the server is back.
 */
public class StatusReporter {
    private static final Logger LOG = Logger.getLogger(StatusReporter.class.getName());
    private static final ObjectMapper JSON = AgentJson.MAPPER;
    private static final Duration RETRY_BACKOFF = Duration.ofSeconds(2);

    private final KubernetesClient client;
    private final String nodeName;
    private final Clock clock;
    private final Duration heartbeat;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    private final ConntrackNodeState target;
    private JsonNode lastWrittenKey;
    /** The reporting thread offers the same newest status several times per poll: its key is computed once. */
    private ConntrackNodeStateStatus lastOffered;
    private JsonNode lastOfferedKey;
    private Instant lastWrite = Instant.EPOCH;
    private Instant lastFailure = Instant.EPOCH;

    public StatusReporter(KubernetesClient client, String nodeName, Clock clock, Duration heartbeat) {
        this.client = client;
        this.nodeName = nodeName;
        this.clock = clock;
        this.heartbeat = heartbeat;
        this.target = new ConntrackNodeState();
        this.target.getMetadata().setName(nodeName);
    }

    /** Offers the newest status; returns true when it was written now. */
    public synchronized boolean offer(ConntrackNodeStateStatus status) {
        Instant now = clock.instant();
        if (status != lastOffered) {
            lastOfferedKey = significant(status);
            lastOffered = status;
        }
        JsonNode key = lastOfferedKey;
        boolean changed = !key.equals(lastWrittenKey);
        boolean heartbeatDue = !now.isBefore(lastWrite.plus(heartbeat));
        if (!changed && !heartbeatDue) {
            return false;
        }
        if (now.isBefore(lastFailure.plus(RETRY_BACKOFF))) {
            return false;
        }
        status.setHeartbeatTime(now.truncatedTo(ChronoUnit.SECONDS).toString());
        try {
            write(status);
            lastWrittenKey = key;
            lastWrite = now;
            writes.incrementAndGet();
            return true;
        } catch (KubernetesClientException e) {
            failures.incrementAndGet();
            lastFailure = now;
            LOG.log(Level.WARNING, "status of node state " + nodeName + " not written (" + describe(e)
                    + "); keeping the newest and retrying");
            return false;
        }
    }

    public long writes() {
        return writes.get();
    }

    public long failures() {
        return failures.get();
    }

    private void write(ConntrackNodeStateStatus status) {
        // JSON Patch "add" replaces /status whole (so removed originals disappear) and needs no resourceVersion.
        ArrayNode patch = JSON.createArrayNode();
        ObjectNode op = patch.addObject();
        op.put("op", "add");
        op.put("path", "/status");
        op.set("value", JSON.valueToTree(status));
        // Patching through an in-memory item skips the GET the client would otherwise do first.
        client.resources(ConntrackNodeState.class).resource(target).subresource("status")
                .patch(PatchContext.of(PatchType.JSON), patch.toString());
    }

    /** The parts of a status whose change must be reported now; live counters ride on the heartbeat. */
    static JsonNode significant(ConntrackNodeStateStatus status) {
        ObjectNode key = JSON.createObjectNode();
        key.put("observedGeneration", Objects.toString(status.getObservedGeneration()));
        ArrayNode conditions = key.putArray("conditions");
        List<Condition> list = status.getConditions() == null ? List.of() : status.getConditions();
        for (Condition c : list) {
            conditions.addObject().put("type", c.getType()).put("status", c.getStatus())
                    .put("reason", c.getReason());
        }
        key.set("current", JSON.valueToTree(status.getCurrent()));
        key.set("originals", JSON.valueToTree(status.getOriginals()));
        key.set("pending", JSON.valueToTree(status.getPending()));
        key.set("unavailable", JSON.valueToTree(status.getUnavailableSignals()));
        key.put("lastTableFull", status.getLastTableFullTime());
        key.put("explained", status.getExplanation() == null ? null : status.getExplanation().getTime());
        key.put("raises", status.getAutoRaise() == null ? null : status.getAutoRaise().getRaises());
        return key;
    }

    private static String describe(KubernetesClientException e) {
        return e.getCode() == 404 ? "node state does not exist yet" : e.getMessage();
    }
}
