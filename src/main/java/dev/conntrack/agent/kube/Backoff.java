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
    private final Duration period;
    private final int spreadAfter;
    private final long phaseMillis;
    private int failures;

    public Backoff(Duration min, Duration max) {
        this(min, max, null, 0);
    }

    private Backoff(Duration min, Duration max, Duration period, int spreadAfter) {
        this.min = min;
        this.max = max;
        this.period = period;
        this.spreadAfter = spreadAfter;
        this.phaseMillis = period == null ? 0 : ThreadLocalRandom.current().nextLong(period.toMillis());
    }

    /**
     * The same backoff, but after more than {@code afterFailures} failures in a row (the server is
     * down, not blipping) each wait ends at this caller's own time in every {@code period} (a phase
     * picked at random once), at or after the exponential wait: the callers of a fleet then come back
     * from an outage spread evenly over the period, as randomness in each wait alone does not do
     * (most waits are long by then, so most retries bunch up soon after the server is back).
     */
    public Backoff spreadOver(Duration period, int afterFailures) {
        return new Backoff(min, max, period, afterFailures);
    }

    /** The wait after one more failure; FAILURE's Retry-After (when it has one) is a lower bound. */
    public Duration next(KubeApiException failure) {
        long step = min.toMillis() << Math.min(failures, 20);
        long cap = Math.min(Math.max(step, min.toMillis()), max.toMillis());
        failures++;
        long wait = cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1);
        long asked = failure == null ? -1 : failure.retryAfterSeconds();
        Duration exponential = Duration.ofMillis(asked >= 0 ? Math.max(wait, asked * 1000) : wait);
        return period != null && failures > spreadAfter ? untilOwnTime(System.currentTimeMillis(), exponential) : exponential;
    }

    /** From {@code nowMillis} (wall clock), the wait until this caller's own time in the period, at least {@code atLeast}. */
    Duration untilOwnTime(long nowMillis, Duration atLeast) {
        long earliest = nowMillis + atLeast.toMillis();
        return atLeast.plusMillis(Math.floorMod(phaseMillis - earliest, period.toMillis()));
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
