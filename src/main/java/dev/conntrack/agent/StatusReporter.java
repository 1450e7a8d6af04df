package dev.conntrack.agent;

import dev.conntrack.agent.kube.Backoff;
import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.ConntrackNodeStateStatus;
import io.fabric8.kubernetes.api.model.Condition;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
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
    /** After a refused write: 2 s, doubling to 60 s, with jitter and at least the server's Retry-After. */
    private final Backoff backoff = new Backoff(Duration.ofSeconds(2), Duration.ofSeconds(60));
    private Instant retryAt = Instant.EPOCH;

    private final KubeClient client;
    private final String nodeName;
    private final Clock clock;
    private final Duration heartbeat;
    private final AtomicLong writes = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();

    private final String statusPath;
    private List<Object> lastWrittenKey;
    /**
     * The reporting thread offers the same newest status several times per poll: its key, and
     * whether it differs from the written one, are computed once.
     */
    private ConntrackNodeStateStatus lastOffered;
    private List<Object> lastOfferedKey;
    /** Whether the last offered status differs from the last written in what must be reported now. */
    private boolean lastOfferedChanged;
    private Instant lastWrite = Instant.EPOCH;

    public StatusReporter(KubeClient client, String nodeName, Clock clock, Duration heartbeat) {
        this.client = client;
        this.nodeName = nodeName;
        this.clock = clock;
        this.heartbeat = heartbeat;
        this.statusPath = NodeSpecWatch.PATH + "/" + URLEncoder.encode(nodeName, StandardCharsets.UTF_8) + "/status";
    }

    /** Offers the newest status; returns true when it was written now. */
    public boolean offer(ConntrackNodeStateStatus status) {
        return offer(status, true);
    }

    /**
     * Offers the newest status of a poll that is still running (POLL_FRESH) or has stopped
     * completing: then nothing is written, not even a heartbeat, so the node state's heartbeat
     * grows old and the operator reports the agent silent instead of a fresh time over stale values.
     */
    public synchronized boolean offer(ConntrackNodeStateStatus status, boolean pollFresh) {
        if (!pollFresh) {
            return false;
        }
        Instant now = clock.instant();
        if (status != lastOffered) {
            lastOfferedKey = significant(status);
            lastOffered = status;
            lastOfferedChanged = !lastOfferedKey.equals(lastWrittenKey);
        }
        List<Object> key = lastOfferedKey;
        boolean changed = lastOfferedChanged;
        boolean heartbeatDue = !now.isBefore(lastWrite.plus(heartbeat));
        if (!changed && !heartbeatDue) {
            return false;
        }
        if (now.isBefore(retryAt)) {
            return false;
        }
        status.setHeartbeatTime(now.truncatedTo(ChronoUnit.SECONDS).toString());
        try {
            write(status);
            lastWrittenKey = key;
            lastOfferedChanged = false;
            lastWrite = now;
            backoff.reset();
            writes.incrementAndGet();
            return true;
        } catch (KubeApiException e) {
            failures.incrementAndGet();
            Duration wait = backoff.next(e);
            retryAt = changed ? now.plus(wait) : nextHeartbeatSlot(now.plus(wait));
            LOG.log(Level.WARNING, "status of node state " + nodeName + " not written (" + describe(e)
                    + "); keeping the newest and retrying");
            return false;
        }
    }

    /**
     * Only a heartbeat was lost, which is not urgent: it is retried at this agent's own heartbeat
     * time (the last write plus whole heartbeat periods), the first one not before {@code earliest}
     * (the backoff). Each agent keeps the phase it had, and the agents of a fleet had theirs spread
     * over the period, so after an outage their heartbeats come back at the rate they had before it
     * instead of bunched together (a random time in the next period, tried before, still left them
     * 1.7 times as dense as idle, since the backoff wait pushed most to the period's end).
     */
    private Instant nextHeartbeatSlot(Instant earliest) {
        if (lastWrite.equals(Instant.EPOCH)) {
            // Never written: no phase of its own yet, so a random one.
            return earliest.plusMillis(java.util.concurrent.ThreadLocalRandom.current().nextLong(heartbeat.toMillis() + 1));
        }
        long periods = Math.max(1, (Duration.between(lastWrite, earliest).toMillis() + heartbeat.toMillis() - 1) / heartbeat.toMillis());
        return lastWrite.plus(heartbeat.multipliedBy(periods));
    }

    /**
     * The next offer writes without waiting for the backoff: what made the writes fail is known to
     * be gone (the node's conntrack table, full until then, has room again).
     */
    public synchronized void retryNow() {
        retryAt = Instant.EPOCH;
        backoff.reset();
    }

    public long writes() {
        return writes.get();
    }

    public long failures() {
        return failures.get();
    }

    private void write(ConntrackNodeStateStatus status) throws KubeApiException {
        client.patch(statusPath, KubeClient.JSON_PATCH, NodeStateWriter.statusPatch(status));
    }

    /** The parts of a status whose change must be reported now; live counters ride on the heartbeat. */
    static List<Object> significant(ConntrackNodeStateStatus status) {
        List<Object> conditions = new ArrayList<>();
        List<Condition> list = status.getConditions() == null ? List.of() : status.getConditions();
        for (Condition c : list) {
            conditions.add(Arrays.asList(c.getType(), c.getStatus(), c.getReason()));
        }
        // Copies, so that a later change to the status's own maps cannot change the key written.
        return Arrays.asList(status.getObservedGeneration(), conditions, copy(status.getCurrent()),
                copy(status.getOriginals()), copy(status.getPending()),
                status.getUnavailableSignals() == null ? null : List.copyOf(status.getUnavailableSignals()),
                status.getLastTableFullTime(),
                status.getExplanation() == null ? null : status.getExplanation().getTime(),
                status.getAutoRaise() == null ? null : status.getAutoRaise().getRaises());
    }

    private static Map<String, String> copy(Map<String, String> map) {
        return map == null ? null : new HashMap<>(map);
    }

    private static String describe(KubeApiException e) {
        return e.code() == 404 ? "node state does not exist yet" : e.getMessage();
    }
}
