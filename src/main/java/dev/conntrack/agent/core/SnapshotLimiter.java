package dev.conntrack.agent.core;

import java.time.Duration;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Decides when the agent may list the conntrack table to explain pressure. Listing makes the
 * kernel format every entry (about a second of CPU per few hundred thousand entries), and pressure
 * tends to last: so at most one automatic listing per interval (default 5 minutes), however many
 * polls see pressure. A manual request (the user asks for an explanation now) is honoured at the
 * next poll whatever the interval; several requests before that poll make one listing. Any
 * listing restarts the interval: the table was just explained.
 *
 * <p>Pure logic on a monotonic clock (System::nanoTime, injectable). Every method is synchronized:
 * the polling thread decides, while {@link #requestManual()} may come from a watch thread.
 */
public final class SnapshotLimiter {
    public static final Duration DEFAULT_MIN_INTERVAL = Duration.ofMinutes(5);

    /** What the poll should do, and why. */
    public enum Decision {
        /** List now: the user asked. */
        TAKE_MANUAL,
        /** List now: pressure, and the interval since the last listing has passed. */
        TAKE_PRESSURE,
        /** No pressure and no request. */
        SKIP_NO_PRESSURE,
        /** Pressure, but a listing was taken less than the interval ago. */
        SKIP_RATE_LIMITED;

        public boolean take() {
            return this == TAKE_MANUAL || this == TAKE_PRESSURE;
        }
    }

    private final long minIntervalNanos;
    private final LongSupplier nanoTime;
    private boolean manualRequested;
    private boolean taken;
    private long lastTakenNanos;

    public SnapshotLimiter() {
        this(DEFAULT_MIN_INTERVAL, System::nanoTime);
    }

    public SnapshotLimiter(Duration minInterval, LongSupplier nanoTime) {
        Objects.requireNonNull(minInterval, "minInterval");
        if (minInterval.isNegative()) {
            throw new IllegalArgumentException("minInterval must not be negative: " + minInterval);
        }
        this.minIntervalNanos = minInterval.toNanos();
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    /** Asks for a listing at the next poll, pressure or not. */
    public synchronized void requestManual() {
        manualRequested = true;
    }

    /**
     * Decides for this poll; a TAKE decision counts as a listing taken now (the caller lists right
     * away, and a listing that fails is not retried before the interval either: it would fail again).
     */
    public synchronized Decision decide(boolean underPressure) {
        long now = nanoTime.getAsLong();
        if (manualRequested) {
            manualRequested = false;
            record(now);
            return Decision.TAKE_MANUAL;
        }
        if (!underPressure) {
            return Decision.SKIP_NO_PRESSURE;
        }
        if (taken && now - lastTakenNanos < minIntervalNanos) {
            return Decision.SKIP_RATE_LIMITED;
        }
        record(now);
        return Decision.TAKE_PRESSURE;
    }

    /** Time until an automatic listing is allowed again; zero when it is allowed now. */
    public synchronized Duration untilNextAllowed() {
        if (!taken) {
            return Duration.ZERO;
        }
        long left = minIntervalNanos - (nanoTime.getAsLong() - lastTakenNanos);
        return left <= 0 ? Duration.ZERO : Duration.ofNanos(left);
    }

    private void record(long now) {
        taken = true;
        lastTakenNanos = now;
    }
}
