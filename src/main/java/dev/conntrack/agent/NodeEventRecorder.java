package dev.conntrack.agent;

import dev.conntrack.agent.kube.Backoff;
import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Kubernetes Events on this agent's Node (namespace "default", as the kubelet does). Deduplicated
 * by reason: the same reason within the window bumps the count (and takes the newest message) of
 * the existing Event instead of creating a new one, so a node whose table fills again and again
 * yields one Event per reason and window, not one per episode or per drop. The reasons are
 * {@link dev.conntrack.agent.core.PollEvents}'.
 *
 * <p>An Event the API server could not take (unreachable, overloaded: the very moment a node's
 * conntrack table is full, since the agent's new connections go through it) is held, the newest
 * per reason with the time it happened, and sent by {@link #sendHeld()} once the backoff allows or
 * {@link #retryNow()} says the cause is gone. One that the server refused (403, 422) is dropped.
 */
public class NodeEventRecorder {
    private static final Logger LOG = Logger.getLogger(NodeEventRecorder.class.getName());
    private static final String NAMESPACE = "default";
    private static final String COMPONENT = "conntrack-agent";
    private static final String EVENTS = "/api/v1/namespaces/" + NAMESPACE + "/events";

    private final KubeClient client;
    private final String nodeName;
    private final Clock clock;
    private final Duration window;
    private final Map<String, Emitted> recent = new HashMap<>();
    /** After a refused call: no Event is tried before retryAt (2 s doubling to 60 s, jitter, Retry-After). */
    private final Backoff backoff = new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(60));
    private Instant retryAt = Instant.EPOCH;

    private record Emitted(String name, String message, Instant first, int count) {
    }

    /** An Event not sent yet because the API server could not take it. */
    private record Held(String type, String reason, String message, Instant at) {
    }

    private final Map<String, Held> held = new LinkedHashMap<>();

    public NodeEventRecorder(KubeClient client, String nodeName, Clock clock, Duration window) {
        this.client = client;
        this.nodeName = nodeName;
        this.clock = clock;
        this.window = window;
    }

    public void normal(String reason, String message) {
        record("Normal", reason, message);
    }

    public void warning(String reason, String message) {
        record("Warning", reason, message);
    }

    /** Returns true when a new Event was created (not a count bump); failures are logged, never thrown. */
    synchronized boolean record(String type, String reason, String message) {
        return send(new Held(type, reason, message, clock.instant()));
    }

    /** Sends the Events held back while the API server could not take them, when its backoff allows. */
    public synchronized void sendHeld() {
        if (held.isEmpty() || clock.instant().isBefore(retryAt)) {
            return;
        }
        List<Held> due = new ArrayList<>(held.values());
        held.clear();
        for (Held h : due) {
            send(h); // held again if it fails (and then so are the rest: the backoff runs again)
        }
    }

    /** Events held for later (tests). */
    synchronized int heldCount() {
        return held.size();
    }

    private boolean send(Held event) {
        Instant now = clock.instant();
        String reason = event.reason();
        if (now.isBefore(retryAt)) {
            // An overloaded or absent API server: held for later (newest per reason); the status carries the state meanwhile.
            held.put(reason, event);
            return false;
        }
        Emitted last = recent.get(reason);
        try {
            if (last != null && event.at().isBefore(last.first().plus(window))) {
                int count = last.count() + 1;
                // A merge patch of the fields that change: no read first, no resourceVersion needed.
                client.patch(EVENTS + "/" + last.name(), KubeClient.MERGE_PATCH,
                        NodeStateWriter.eventBump(count, event.message(), stamp(event.at())));
                recent.put(reason, new Emitted(last.name(), event.message(), last.first(), count));
                backoff.reset();
                return false;
            }
            String name = nodeName + "." + reason.toLowerCase(Locale.ROOT) + "." + Long.toHexString(event.at().toEpochMilli());
            client.post(EVENTS, NodeStateWriter.event(new NodeStateWriter.NodeEvent(name, NAMESPACE, nodeName, event.type(), reason,
                    event.message(), COMPONENT, stamp(event.at()))));
            recent.put(reason, new Emitted(name, event.message(), event.at(), 1));
            backoff.reset();
            return true;
        } catch (KubeApiException e) {
            // Events are best effort: a lost Event must never stop enforcement or reporting.
            recent.remove(reason);
            if (e.code() == 0 || e.code() == 429 || e.code() >= 500) {
                LOG.log(Level.FINE, "event " + reason + " held for later: " + e.getMessage());
                held.put(reason, event);
                retryAt = now.plus(backoff.next(e));
            } else {
                LOG.log(Level.FINE, "event " + reason + " not recorded: " + e.getMessage());
            }
            return false;
        }
    }

    /** The next Event is sent without waiting for the backoff (see {@link StatusReporter#retryNow()}). */
    public synchronized void retryNow() {
        retryAt = Instant.EPOCH;
        backoff.reset();
    }

    private static String stamp(Instant instant) {
        return instant.truncatedTo(ChronoUnit.SECONDS).toString();
    }
}
