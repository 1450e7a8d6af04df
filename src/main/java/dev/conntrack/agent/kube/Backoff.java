package dev.conntrack.agent.kube;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/**
 * How long to wait after the API server failed a call: exponential from {@code min} to {@code max}
 * with jitter (each wait is random between half and all of the exponential step), so that the
 * agents of a fleet do not all come back at the same moment after an outage, and never shorter
 * than what the server asked for with Retry-After (429 Too Many Requests, 503). Not thread-safe:
 * one per caller.
 */
public final class Backoff {
    private final Duration min;
    private final Duration max;
    private int failures;

    public Backoff(Duration min, Duration max) {
        this.min = min;
        this.max = max;
    }

    /** The wait after one more failure; FAILURE's Retry-After (when it has one) is a lower bound. */
    public Duration next(KubeApiException failure) {
        long step = min.toMillis() << Math.min(failures, 20);
        long cap = Math.min(Math.max(step, min.toMillis()), max.toMillis());
        failures++;
        long wait = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
        long asked = failure == null ? -1 : failure.retryAfterSeconds();
        return Duration.ofMillis(asked >= 0 ? Math.max(wait, asked * 1000) : wait);
    }

    /** A call succeeded: the next failure starts from {@code min} again. */
    public void reset() {
        failures = 0;
    }

    /** Failures in a row so far. */
    public int failures() {
        return failures;
    }
}
