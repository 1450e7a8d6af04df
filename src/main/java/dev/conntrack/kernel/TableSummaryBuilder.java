package dev.conntrack.kernel;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Counts parsed table lines into a {@link TableSummary}, in memory fixed by the limits and not by
 * the table: protocol and state counts are per protocol number or per (few) state names, ports are
 * exact per port of up to {@link #PORT_PROTOCOLS} protocols (256 KiB each), addresses go through
 * {@link HeavyHitters}. Not thread-safe.
 */
final class TableSummaryBuilder {
    /** Protocols whose ports are counted; real tables carry tcp, udp and at most sctp/dccp/udplite. */
    static final int PORT_PROTOCOLS = 6;
    private static final int MAX_EXAMPLE = 160;
    private static final int TCP = 6;

    private final int topK;
    private final HeavyHitters sources;
    private final HeavyHitters destinations;
    /** TCP state names: a dozen in any kernel, so 64 counters keep them exact. */
    private final HeavyHitters tcpStates = new HeavyHitters(64, ConntrackEntryParser.MAX_FIELD);
    private final long[] byL4 = new long[256];
    private final String[] l4Names = new String[256];
    private final int[] portProtocols = new int[PORT_PROTOCOLS];
    private final int[][] portCounts = new int[PORT_PROTOCOLS][];
    private int portProtocolCount;
    private long ipv4;
    private long ipv6;
    private long entries;
    private long assured;
    private long unreplied;
    private long malformed;
    private String malformedExample;

    TableSummaryBuilder(int topK, int heavyHitterCounters) {
        this.topK = topK;
        this.sources = new HeavyHitters(heavyHitterCounters, ConntrackEntryParser.MAX_FIELD);
        this.destinations = new HeavyHitters(heavyHitterCounters, ConntrackEntryParser.MAX_FIELD);
    }

    long entries() {
        return entries;
    }

    /** Counts the line the PARSER just accepted; BUF is the buffer it parsed. */
    void add(ConntrackEntryParser p, byte[] buf) {
        entries++;
        if (p.l3IsV6) {
            ipv6++;
        } else {
            ipv4++;
        }
        int proto = p.l4Number;
        if (byL4[proto]++ == 0 && l4Names[proto] == null) {
            l4Names[proto] = new String(buf, p.l4Off, p.l4Len, StandardCharsets.US_ASCII);
        }
        if (proto == TCP && p.stateLen > 0) {
            tcpStates.add(buf, p.stateOff, p.stateLen);
        }
        if (p.assured) {
            assured++;
        }
        if (p.unreplied) {
            unreplied++;
        }
        sources.add(buf, p.srcOff, p.srcLen);
        destinations.add(buf, p.dstOff, p.dstLen);
        if (p.dport != ConntrackEntryParser.NO_PORT) {
            int[] ports = portsOf(proto);
            if (ports != null) {
                ports[p.dport]++;
            }
        }
    }

    void malformed(byte[] buf, int start, int end, String problem) {
        malformed++;
        if (malformedExample == null) {
            String line = new String(buf, start, Math.min(end - start, MAX_EXAMPLE), StandardCharsets.US_ASCII);
            malformedExample = problem + ": \"" + line + (end - start > MAX_EXAMPLE ? "...\"" : "\"");
        }
    }

    TableSummary build(TableSummary.Source source, TableSummary.Truncation truncation, Duration elapsed) {
        Map<String, Long> l3 = new LinkedHashMap<>();
        if (ipv4 >= ipv6) {
            putIfPositive(l3, "ipv4", ipv4);
            putIfPositive(l3, "ipv6", ipv6);
        } else {
            putIfPositive(l3, "ipv6", ipv6);
            putIfPositive(l3, "ipv4", ipv4);
        }
        List<Map.Entry<String, Long>> l4 = new ArrayList<>();
        for (int proto = 0; proto < 256; proto++) {
            if (byL4[proto] > 0) {
                l4.add(Map.entry(l4Names[proto], byL4[proto]));
            }
        }
        l4.sort(Map.Entry.<String, Long>comparingByValue().reversed().thenComparing(Map.Entry.comparingByKey()));
        Map<String, Long> byL4Name = new LinkedHashMap<>();
        l4.forEach(e -> byL4Name.merge(e.getKey(), e.getValue(), Long::sum));
        Map<String, Long> states = new LinkedHashMap<>();
        for (HeavyHitters.Top t : tcpStates.top(Integer.MAX_VALUE)) {
            states.put(t.key(), t.count());
        }
        return new TableSummary(source, entries, malformed, Optional.ofNullable(malformedExample), truncation, elapsed,
                l3, byL4Name, states, assured, unreplied,
                sources.top(topK), destinations.top(topK), topPorts());
    }

    private List<HeavyHitters.Top> topPorts() {
        List<HeavyHitters.Top> all = new ArrayList<>();
        for (int k = 0; k < portProtocolCount; k++) {
            int[] counts = portCounts[k];
            String name = l4Names[portProtocols[k]];
            // Keep only the K best of each protocol while scanning: bounded however many ports are in use.
            List<int[]> best = new ArrayList<>();
            for (int port = 0; port < counts.length; port++) {
                if (counts[port] > 0) {
                    best.add(new int[] {port, counts[port]});
                    if (best.size() > 4 * topK) {
                        best.sort(Comparator.comparingInt((int[] a) -> -a[1]).thenComparingInt(a -> a[0]));
                        best.subList(topK, best.size()).clear();
                    }
                }
            }
            for (int[] pc : best) {
                all.add(new HeavyHitters.Top(name + "/" + pc[0], pc[1], 0));
            }
        }
        all.sort(Comparator.comparingLong(HeavyHitters.Top::count).reversed().thenComparing(HeavyHitters.Top::key));
        return all.subList(0, Math.min(topK, all.size()));
    }

    private int[] portsOf(int proto) {
        for (int k = 0; k < portProtocolCount; k++) {
            if (portProtocols[k] == proto) {
                return portCounts[k];
            }
        }
        if (portProtocolCount == PORT_PROTOCOLS) {
            return null; // more port-bearing protocols than any kernel has: not counted
        }
        portProtocols[portProtocolCount] = proto;
        portCounts[portProtocolCount] = new int[65536];
        return portCounts[portProtocolCount++];
    }

    private static void putIfPositive(Map<String, Long> map, String key, long value) {
        if (value > 0) {
            map.put(key, value);
        }
    }
}
