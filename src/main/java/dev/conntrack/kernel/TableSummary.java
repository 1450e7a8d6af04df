package dev.conntrack.kernel;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What one listing of a conntrack table held: the breakdown the classic
 * {@code conntrack -L | awk | sort | uniq -c} diagnosis gives by hand.
 *
 * <p>Counts cover the {@code entries} lines listed. When {@link #truncation()} is not NONE the
 * listing stopped early (entry cap or deadline) and the counts describe the part listed: the
 * kernel lists in hash order, which has nothing to do with state or address, so shares are a fair
 * sample but absolute counts are low.
 *
 * @param source              where the lines came from
 * @param entries             entry lines parsed
 * @param malformedLines      non-blank lines that were not conntrack entries (skipped, not counted)
 * @param malformedExample    the first such line with the reason, cut to 160 characters
 * @param truncation          why the listing stopped early, NONE when it was read to the end
 * @param elapsed             time spent reading and counting
 * @param byL3Protocol        "ipv4"/"ipv6" to entries, largest first
 * @param byL4Protocol        protocol name as the kernel prints it ("tcp", "udp", "icmp") to entries, largest first
 * @param byTcpState          TCP entries by state ("TIME_WAIT", "ESTABLISHED"), largest first
 * @param assured             entries flagged [ASSURED] (never evicted by early drop)
 * @param unreplied           entries flagged [UNREPLIED] (no packet seen in the reply direction)
 * @param topSources          most frequent source addresses of the original direction
 * @param topDestinations     most frequent destination addresses of the original direction
 * @param topDestinationPorts most frequent "protocol/port" of the original direction (exact)
 */
public record TableSummary(
        Source source,
        long entries,
        long malformedLines,
        Optional<String> malformedExample,
        Truncation truncation,
        Duration elapsed,
        Map<String, Long> byL3Protocol,
        Map<String, Long> byL4Protocol,
        Map<String, Long> byTcpState,
        long assured,
        long unreplied,
        List<HeavyHitters.Top> topSources,
        List<HeavyHitters.Top> topDestinations,
        List<HeavyHitters.Top> topDestinationPorts) {

    /** Where the lines came from. */
    public enum Source {
        /** /proc/net/nf_conntrack, or /proc/PID/net/nf_conntrack for another namespace. */
        PROCFS,
        /** {@code conntrack -L -o extended} over netlink (kernels without the procfs listing). */
        CONNTRACK_CLI,
        /** A stream a caller handed in. */
        STREAM
    }

    /** Why a listing stopped before its end. */
    public enum Truncation { NONE, ENTRY_CAP, DEADLINE }

    public TableSummary {
        byL3Protocol = ordered(byL3Protocol);
        byL4Protocol = ordered(byL4Protocol);
        byTcpState = ordered(byTcpState);
        topSources = List.copyOf(topSources);
        topDestinations = List.copyOf(topDestinations);
        topDestinationPorts = List.copyOf(topDestinationPorts);
        malformedExample = malformedExample == null ? Optional.empty() : malformedExample;
    }

    /** An unmodifiable copy that keeps the caller's order (largest first). */
    private static Map<String, Long> ordered(Map<String, Long> counts) {
        return Collections.unmodifiableMap(new LinkedHashMap<>(counts));
    }

    public boolean truncated() {
        return truncation != Truncation.NONE;
    }

    /** Entries in STATE (a TCP state name), 0 when none. */
    public long tcpState(String state) {
        return byTcpState.getOrDefault(state, 0L);
    }

    /** PART / entries, 0 for an empty listing. */
    public double share(long part) {
        return entries == 0 ? 0 : (double) part / entries;
    }

    public double assuredShare() {
        return share(assured);
    }

    /**
     * True when every top list holds true counts; false when a list went past its exact capacity
     * and reports Space-Saving estimates (each item says by how much it may be over).
     */
    public boolean topsExact() {
        for (List<HeavyHitters.Top> list : List.of(topSources, topDestinations, topDestinationPorts)) {
            for (HeavyHitters.Top top : list) {
                if (top.maxOverestimate() != 0) {
                    return false;
                }
            }
        }
        return true;
    }
}
