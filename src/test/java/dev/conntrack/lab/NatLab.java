package dev.conntrack.lab;

import dev.conntrack.testing.TestApiServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** hack/natlab.sh from Java: up, bounded load, the router namespace's counters, down. */
public final class NatLab implements AutoCloseable {
    private static final Pattern COMPLETE = Pattern.compile("Complete requests:\\s+(\\d+)");
    private static final Pattern FAILED = Pattern.compile("Failed requests:\\s+(\\d+)");
    private static final Pattern RPS = Pattern.compile("Requests per second:\\s+([0-9.]+)");
    private final long routerPid;

    private NatLab(long routerPid) {
        this.routerPid = routerPid;
    }

    public static boolean available() {
        return Files.isExecutable(Path.of("/usr/sbin/ip")) || Files.isExecutable(Path.of("/sbin/ip"));
    }

    /** Builds the lab (a trap in the script tears it down if that fails). */
    public static NatLab up(String... options) {
        List<String> args = new ArrayList<>(List.of("up"));
        args.addAll(List.of(options));
        run(args, 300);
        return new NatLab(Long.parseLong(run(List.of("router-pid"), 10).trim()));
    }

    /**
     * Service mode: only the client namespace, routed through this machine to a Kubernetes Service
     * whose DNAT is kube-proxy's; the machine's own traffic is not tracked while the lab is up, except
     * for the given ranges. The "router" is then the machine's own namespace (pid 1).
     */
    public static NatLab upForService(String target, String trackedCidrs, String serviceCidrs, String... options) {
        List<String> args = new ArrayList<>(List.of("--service", target, "--track", trackedCidrs, "--services", serviceCidrs));
        args.addAll(List.of(options));
        return up(args.toArray(String[]::new));
    }

    public long routerPid() {
        return routerPid;
    }

    /** ab -c C -n N -r -s S from the client namespace, killed after T seconds whatever happens. */
    public LoadResult load(int concurrency, int requests, int socketTimeout, int timeLimitSeconds) {
        long started = System.nanoTime();
        String out = run(List.of("load", "-c", Integer.toString(concurrency), "-n", Integer.toString(requests),
                "-s", Integer.toString(socketTimeout), "-t", Integer.toString(timeLimitSeconds)), timeLimitSeconds + 30);
        return new LoadResult(out, (System.nanoTime() - started) / 1_000_000);
    }

    /**
     * A SYN burst of PACKETS distinct flows (hping3, a random source address per packet, so every
     * packet is a new conntrack entry in the router's table) from the client namespace to the
     * DNAT address, one packet every INTERVAL_MICROS, killed after TIME_LIMIT seconds. Nothing
     * leaves the lab's namespaces: the router has no route out, replies to the made-up sources die there.
     */
    public LoadResult synBurst(int packets, int intervalMicros, int timeLimitSeconds) {
        return hping("-i u" + intervalMicros + " -c " + packets, timeLimitSeconds);
    }

    /** As fast as hping3 sends (--flood), for SECONDS (it is interrupted then and prints what it sent). */
    public LoadResult synFlood(int seconds) {
        return hping("--flood", seconds);
    }

    private LoadResult hping(String pace, int seconds) {
        long started = System.nanoTime();
        String out = exec(List.of("bash", "-c", "timeout --signal=INT --kill-after=5 " + seconds
                + " ip netns exec ct-client hping3 -S -p 8080 --rand-source -q " + pace + " 10.200.0.80 2>&1 || true"), seconds + 30);
        return new LoadResult(out, (System.nanoTime() - started) / 1_000_000);
    }

    /** The router namespace's drop counter, summed over CPUs (read from outside the namespace). */
    public long routerDrops() {
        return routerCounter("drop");
    }

    public long routerCounter(String column) {
        try (InputStream in = Files.newInputStream(Path.of("/proc", Long.toString(routerPid), "net/stat/nf_conntrack"))) {
            String[] lines = new String(in.readAllBytes(), StandardCharsets.US_ASCII).split("\n");
            String[] header = lines[0].trim().split("\\s+");
            int index = List.of(header).indexOf(column);
            long sum = 0;
            for (int i = 1; i < lines.length; i++) {
                if (!lines[i].isBlank()) {
                    sum += Long.parseUnsignedLong(lines[i].trim().split("\\s+")[index], 16);
                }
            }
            return sum;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Empties the lab's part of the table (TIME_WAIT entries of the last run would otherwise still count). */
    public void flushRouterTable() {
        run(List.of("flush"), 60);
    }

    @Override
    public void close() {
        run(List.of("down"), 120);
    }

    /** What ab printed, with the figures the tests and benchmarks read. */
    public record LoadResult(String output, long wallMillis) {
        public int completeRequests() {
            Matcher m = COMPLETE.matcher(output);
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        }

        public int failedRequests() {
            Matcher m = FAILED.matcher(output);
            return m.find() ? Integer.parseInt(m.group(1)) : 0;
        }

        public double requestsPerSecond() {
            Matcher m = RPS.matcher(output);
            return m.find() ? Double.parseDouble(m.group(1)) : 0;
        }

        /** ab gave up (apr_pollset_poll timeout) or requests failed. */
        public boolean failedOrAborted() {
            return output.contains("apr_") || failedRequests() > 0 || completeRequests() == 0;
        }
    }

    private static String run(List<String> args, int timeoutSeconds) {
        List<String> command = new ArrayList<>(List.of("bash", TestApiServer.projectDir().resolve("hack/natlab.sh").toString()));
        command.addAll(args);
        return exec(command, timeoutSeconds);
    }

    private static String exec(List<String> command, int timeoutSeconds) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(timeoutSeconds, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", command) + " did not finish in " + timeoutSeconds + " s");
            }
            String text = new String(out, StandardCharsets.UTF_8);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + " failed (" + p.exitValue() + "):\n" + text);
            }
            return text;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
