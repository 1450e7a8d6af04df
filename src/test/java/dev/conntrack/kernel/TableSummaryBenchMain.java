package dev.conntrack.kernel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Entry point of bench/table-summary.sh: summarizes the table of the namespace it runs in (run it
 * under `ip netns exec`) once and prints the breakdown plus the time spent inside summarize(),
 * as key=value lines the script compares with the peer pipeline's.
 *
 * <p>Arguments: [MAX_ENTRIES [DEADLINE_SECONDS]] (default 2,000,000 and 60: the benchmark wants
 * the whole table, the agent's defaults are smaller).
 */
public final class TableSummaryBenchMain {
    private TableSummaryBenchMain() {
    }

    public static void main(String[] args) throws Exception {
        long maxEntries = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000;
        long deadline = args.length > 1 ? Long.parseLong(args[1]) : 60;
        var limits = new ConntrackTableSummarizer.Limits(maxEntries, Duration.ofSeconds(deadline), 10, 8192);
        var summarizer = new ConntrackTableSummarizer(HostPaths.host(), CommandRunner.processes(), limits);
        long start = System.nanoTime();
        TableSummary s = summarizer.summarize();
        long nanos = System.nanoTime() - start;
        System.out.println("summarize_ms=" + nanos / 1_000_000);
        System.out.println("entries=" + s.entries());
        System.out.println("truncation=" + s.truncation());
        System.out.println("malformed=" + s.malformedLines());
        System.out.println("states=" + format(s.byTcpState()));
        System.out.println("l4=" + format(s.byL4Protocol()));
        System.out.println("assured=" + s.assured());
        System.out.println("unreplied=" + s.unreplied());
        System.out.println("top_sources=" + format(s.topSources()));
        System.out.println("top_destinations=" + format(s.topDestinations()));
        System.out.println("top_dports=" + format(s.topDestinationPorts()));
        System.out.println("tops_exact=" + s.topsExact());
    }

    private static String format(Map<String, Long> counts) {
        return counts.entrySet().stream().map(e -> e.getKey() + ":" + e.getValue()).collect(Collectors.joining(","));
    }

    private static String format(List<HeavyHitters.Top> top) {
        return top.stream().map(t -> t.key() + ":" + t.count() + (t.maxOverestimate() > 0 ? "(+" + t.maxOverestimate() + ")" : ""))
                .collect(Collectors.joining(","));
    }
}
