package dev.conntrack.kernel;

/**
 * Parses {@code conntrack -S} output, the netlink view of the same per-CPU counters, used when
 * the kernel has no /proc/net/stat/nf_conntrack (CONFIG_NF_CONNTRACK_PROCFS off):
 * <pre>cpu=0   	found=0 invalid=0 insert=0 insert_failed=0 drop=15472 early_drop=0 error=0 ...</pre>
 * Values are decimal; names are netlink's (error, clash_resolve, chaintoolong). Lines without
 * {@code cpu=} are not per-CPU counters and are skipped. Runs only on the fallback path, so plain
 * String handling is fine here.
 */
public final class ConntrackCliStatsParser {
    private ConntrackCliStatsParser() {
    }

    /** @throws IllegalArgumentException when no CPU line is found or a value is not a number */
    public static ConntrackStats parse(String output) {
        ConntrackStats.Builder stats = ConntrackStats.builder(ConntrackStats.Source.NETLINK);
        int lineNo = 0;
        int cpuLines = 0;
        for (String line : output.split("\n")) {
            lineNo++;
            String trimmed = line.strip();
            if (!trimmed.startsWith("cpu=")) {
                continue;
            }
            for (String field : trimmed.split("\\s+")) {
                int eq = field.indexOf('=');
                if (eq <= 0) {
                    continue;
                }
                String name = field.substring(0, eq);
                if (name.equals("cpu")) {
                    continue;
                }
                StatCounter counter = StatCounter.byName(name);
                if (counter == null || counter == StatCounter.ENTRIES) {
                    continue;
                }
                try {
                    stats.add(counter, Long.parseUnsignedLong(field.substring(eq + 1)));
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("conntrack -S line " + lineNo + ": " + name
                            + " is not a number: " + field.substring(eq + 1));
                }
            }
            stats.endCpuLine();
            cpuLines++;
        }
        if (cpuLines == 0) {
            throw new IllegalArgumentException("conntrack -S printed no cpu= lines");
        }
        return stats.build();
    }
}
