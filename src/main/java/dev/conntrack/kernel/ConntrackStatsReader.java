package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Reads the per-CPU conntrack counters of the initial namespace, or of the namespace a pid lives
 * in (/proc/PID/net/stat/nf_conntrack: no need to enter the namespace).
 *
 * <p>The file is looked for on every poll, so counters appear as soon as nf_conntrack is loaded
 * (a node booting, kube-proxy loading the module after the agent started). Only when the module is
 * loaded (nf_conntrack_max exists) and the file still does not exist (CONFIG_NF_CONNTRACK_PROCFS
 * off) does the initial namespace fall back to {@code conntrack -S} over netlink (CAP_NET_ADMIN and
 * the conntrack binary in the image), at most once per {@link #FALLBACK_EVERY}: never a process per
 * poll. Not thread-safe (one instance per polling thread).
 */
public final class ConntrackStatsReader {
    static final List<String> CONNTRACK_S = List.of("conntrack", "-S");
    private static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

    private final HostPaths paths;
    private final CommandRunner commands;
    private final ConntrackStatsParser parser = new ConntrackStatsParser();
    /** How long a netlink reading is reused: spawning conntrack -S on every poll would cost more than the poll. */
    static final Duration FALLBACK_EVERY = Duration.ofSeconds(10);
    private StatsReading fallback;
    private long fallbackAt;

    /** Read on every poll: built once (see TableReader). */
    private final Path ownStats;

    public ConntrackStatsReader(HostPaths paths, CommandRunner commands) {
        this.paths = Objects.requireNonNull(paths, "paths");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.ownStats = paths.conntrackStats();
    }

    /** Counters of the agent's own (initial, for a hostNetwork pod) network namespace. */
    public StatsReading read() {
        Path file = ownStats;
        try {
            return StatsReading.of(parser.read(file));
        } catch (IOException e) {
            if (IoErrors.classify(e).reason() != FailureReason.NotFound) {
                return StatsReading.unavailable("stats: " + display(file) + " unreadable: " + IoErrors.errnoText(e));
            }
        } catch (IllegalArgumentException e) {
            return StatsReading.unavailable("stats: " + display(file) + " malformed: " + e.getMessage());
        }
        if (!Files.exists(paths.conntrackMax())) {
            return StatsReading.unavailable("stats: " + display(file) + " missing: nf_conntrack is not loaded (looked for again every poll)");
        }
        long now = System.nanoTime();
        if (fallback == null || now - fallbackAt >= FALLBACK_EVERY.toNanos()) {
            fallback = readNetlink(file);
            fallbackAt = now;
        }
        return fallback;
    }

    /** Counters of the network namespace PID lives in; no fallback (conntrack -S would need setns). */
    public StatsReading read(long pid) {
        Path file = paths.conntrackStats(pid);
        try {
            return StatsReading.of(parser.readOnce(file));
        } catch (IOException e) {
            return StatsReading.unavailable("stats of pid " + pid + ": " + display(file) + " unreadable: " + IoErrors.errnoText(e));
        } catch (IllegalArgumentException e) {
            return StatsReading.unavailable("stats of pid " + pid + ": " + display(file) + " malformed: " + e.getMessage());
        }
    }

    private StatsReading readNetlink(Path file) {
        String prefix = "stats: " + display(file) + " missing and conntrack -S ";
        try {
            CommandRunner.Result result = commands.run(CONNTRACK_S, COMMAND_TIMEOUT);
            if (result.exitCode() != 0) {
                return StatsReading.unavailable(prefix + "failed (exit " + result.exitCode() + ")");
            }
            return StatsReading.of(ConntrackCliStatsParser.parse(result.stdout()));
        } catch (IOException e) {
            return StatsReading.unavailable(prefix + "unavailable: " + e.getMessage());
        } catch (IllegalArgumentException e) {
            return StatsReading.unavailable(prefix + "output malformed: " + e.getMessage());
        }
    }

    /** The path as it is on the host, not under a test root: that is what the status should name. */
    private String display(Path file) {
        return "/" + paths.root().relativize(file);
    }
}
