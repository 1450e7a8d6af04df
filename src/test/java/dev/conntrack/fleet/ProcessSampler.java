package dev.conntrack.fleet;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Samples a process's resident memory and CPU time from /proc every 500 ms. */
public final class ProcessSampler implements AutoCloseable {
    private static final long CLOCK_TICKS = 100; // USER_HZ on Linux
    private final long pid;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "process-sampler");
        t.setDaemon(true);
        return t;
    });
    private volatile long maxRssKib;

    public ProcessSampler(long pid) {
        this.pid = pid;
        timer.scheduleAtFixedRate(this::sample, 0, 500, TimeUnit.MILLISECONDS);
    }

    /** Starts a new window for {@link #maxRssMib()}. */
    public void resetMax() {
        maxRssKib = rssKib();
    }

    public double maxRssMib() {
        return Math.max(maxRssKib, rssKib()) / 1024.0;
    }

    /** Peak RSS since the process started (VmHWM). */
    public double peakRssMib() {
        return statusKib("VmHWM:") / 1024.0;
    }

    /** User + system CPU seconds used so far. */
    public double cpuSeconds() {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            // After "pid (comm) ": state is f[0]; utime is field 14 overall -> f[11], stime f[12].
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / (double) CLOCK_TICKS;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private void sample() {
        long rss = rssKib();
        if (rss > maxRssKib) {
            maxRssKib = rss;
        }
    }

    private long rssKib() {
        return statusKib("VmRSS:");
    }

    private long statusKib(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.substring(field.length()).trim().split("\\s+")[0]);
                }
            }
        } catch (IOException | RuntimeException e) {
            return 0;
        }
        return 0;
    }

    @Override
    public void close() {
        timer.shutdownNow();
    }
}
