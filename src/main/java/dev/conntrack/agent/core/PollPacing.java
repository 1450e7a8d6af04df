package dev.conntrack.agent.core;

import java.time.Duration;
import java.util.OptionalDouble;

/**
 * The time until the next poll. The policy's interval while the table has room; at most
 * {@link #UNDER_PRESSURE} while usage is at or above the warning percent or the kernel drops,
 * because that is when the first drop has to be reported within a second, and the kernel's
 * "table full" log line that otherwise wakes the poll is rate limited (10 lines per 5 s). A node
 * with room pays nothing for it.
 */
public final class PollPacing {
    public static final Duration UNDER_PRESSURE = Duration.ofMillis(200);

    private PollPacing() {
    }

    public static Duration next(Duration configured, OptionalDouble usagePercent, int warningPercent, boolean dropping) {
        boolean pressure = dropping || (usagePercent.isPresent() && usagePercent.getAsDouble() >= warningPercent);
        return pressure && configured.compareTo(UNDER_PRESSURE) > 0 ? UNDER_PRESSURE : configured;
    }
}
