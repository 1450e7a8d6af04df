package dev.conntrack.kernel;

import java.util.List;
import java.util.Optional;

/**
 * One attempt to read the conntrack counters: the stats when some source worked, and a line per
 * signal that could not be read (goes to status.unavailableSignals as is).
 */
public record StatsReading(Optional<ConntrackStats> stats, List<String> unavailable) {
    public StatsReading {
        stats = stats == null ? Optional.empty() : stats;
        unavailable = List.copyOf(unavailable);
    }

    static StatsReading of(ConntrackStats stats) {
        return new StatsReading(Optional.of(stats), List.of());
    }

    static StatsReading unavailable(String why) {
        return new StatsReading(Optional.empty(), List.of(why));
    }
}
