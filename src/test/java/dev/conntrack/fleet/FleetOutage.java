package dev.conntrack.fleet;

import dev.conntrack.fleet.CountingAgentClient.Kind;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * The fleet through an API server outage (issue 15.4): the agents' request rate while idle, the API
 * server stopped for a fixed time and started again, then the agents' request rate while they come
 * back (the busiest 10 s against the idle rate: a fleet that comes back all at once shows here), and
 * for each node the time from the server being ready to its first status write and its spec watch
 * open again (an agent that gave up never gets there). Rates are counted where the agents send
 * ({@link CountingAgentClient}): every request started, answered or not.
 */
final class FleetOutage {
    /** The window in which the busiest rate after the restart is looked for. */
    static final int BUSIEST_WINDOW_SECONDS = 10;

    private final KubernetesClient admin;
    private final SimulatedFleet fleet;
    private final CountingAgentClient agents;
    private final ApiServerRestart apiServer;

    FleetOutage(KubernetesClient admin, SimulatedFleet fleet, CountingAgentClient agents, ApiServerRestart apiServer) {
        this.admin = admin;
        this.fleet = fleet;
        this.agents = agents;
        this.apiServer = apiServer;
    }

    /**
     * Runs it; returns the figures as tab-separated name=value fields, and writes the agents'
     * requests second by second (from the start of the idle window; t = 0 is the API server's
     * start) to {@code timeline} when it is not null.
     */
    String run(Duration idle, Duration outage, Duration recovery, Path timeline) throws Exception {
        long idleFrom = agents.second(System.nanoTime()) + 1;
        ApiRequestCounts serverBefore = ApiRequestCounts.scrape(admin);
        double idleCpu;
        try (ProcessSampler api = new ProcessSampler(apiServer.pid())) {
            double cpu0 = api.cpuSeconds();
            Thread.sleep(idle.toMillis() + 1000);
            idleCpu = (api.cpuSeconds() - cpu0) / (idle.toMillis() / 1000.0 + 1);
        }
        long idleTo = agents.second(System.nanoTime());
        double serverIdle = ApiRequestCounts.scrape(admin).since(serverBefore).withoutWatches() / (idleTo - idleFrom);
        double idleRate = rate(idleFrom, idleTo);

        long stopNanos = System.nanoTime();
        apiServer.stop();
        log("API server stopped; starting it again in %d s", outage.toSeconds());
        Thread.sleep(Math.max(0, outage.toMillis() - (System.nanoTime() - stopNanos) / 1_000_000));
        agents.forgetFirsts();
        long startNanos = System.nanoTime();
        long pid = apiServer.start();
        ApiServerRestart.awaitReady(admin, Duration.ofMinutes(2));
        long readyNanos = System.nanoTime();
        log("API server %d ready %.1f s after its start (%.1f s after the stop)", pid, (readyNanos - startNanos) / 1e9,
                (readyNanos - stopNanos) / 1e9);
        long outageFrom = agents.second(stopNanos);
        long backFrom = agents.second(startNanos);
        long backTo = backFrom + recovery.toSeconds();
        Thread.sleep(Math.max(0, recovery.toMillis() - (System.nanoTime() - startNanos) / 1_000_000 + 1000));
        double recoveryCpu;
        try (ProcessSampler api = new ProcessSampler(pid)) {
            recoveryCpu = api.cpuSeconds() / ((System.nanoTime() - startNanos) / 1e9);
        }
        double serverBack = ApiRequestCounts.scrape(admin).since(ApiRequestCounts.none()).withoutWatches()
                / ((System.nanoTime() - startNanos) / 1e9);

        long busiestFrom = backFrom;
        double busiest = 0;
        for (long s = backFrom; s + BUSIEST_WINDOW_SECONDS <= backTo; s++) {
            double r = rate(s, s + BUSIEST_WINDOW_SECONDS);
            if (r > busiest) {
                busiest = r;
                busiestFrom = s;
            }
        }
        if (timeline != null) {
            writeTimeline(timeline, idleFrom, outageFrom, backFrom, backTo, agents.second(readyNanos));
        }
        List<Double> status = sinceReady(agents::firstStatusWrite, startNanos, readyNanos);
        List<Double> watch = sinceReady(agents::firstWatchOpened, startNanos, readyNanos);
        int nodes = fleet.names().size();
        return String.format(Locale.ROOT,
                "outage_seconds=%.1f\tready_after_start_seconds=%.1f\tidle_seconds=%d\tidle_rps=%.1f\t%s"
                        + "\toutage_rps=%.1f\tbusiest_10s_rps=%.1f\tbusiest_10s_at=%d\tbusiest_over_idle=%.2f\t%s"
                        + "\trecovery_seconds=%d\trecovery_rps=%.1f\tserver_idle_rps_no_watch=%.1f\tserver_recovery_rps_no_watch=%.1f"
                        + "\tapiserver_idle_cpu_percent=%.0f\tapiserver_recovery_cpu_percent=%.0f"
                        + "\tstatus_fresh_p50=%.1f\tstatus_fresh_p99=%.1f\tstatus_fresh_max=%.1f\tstatus_not_fresh=%d"
                        + "\twatch_open_p50=%.1f\twatch_open_p99=%.1f\twatch_open_max=%.1f\twatch_not_open=%d",
                (readyNanos - stopNanos) / 1e9, (readyNanos - startNanos) / 1e9, idleTo - idleFrom, idleRate,
                byKind("idle", idleFrom, idleTo), rate(outageFrom, backFrom), busiest, busiestFrom - backFrom, busiest / idleRate,
                byKind("busiest", busiestFrom, busiestFrom + BUSIEST_WINDOW_SECONDS), backTo - backFrom, rate(backFrom, backTo),
                serverIdle, serverBack, 100 * idleCpu, 100 * recoveryCpu,
                percentile(status, 50), percentile(status, 99), percentile(status, 100), nodes - status.size(),
                percentile(watch, 50), percentile(watch, 99), percentile(watch, 100), nodes - watch.size());
    }

    private void writeTimeline(Path file, long from, long outageFrom, long backFrom, long to, long ready) throws IOException {
        StringBuilder text = new StringBuilder("t\tphase");
        for (Kind k : Kind.values()) {
            text.append('\t').append(k.name().toLowerCase(Locale.ROOT));
        }
        text.append("\tfailed\n");
        for (long s = from; s < to; s++) {
            String phase = s < outageFrom ? "idle" : s < backFrom ? "down" : s < ready ? "starting" : "ready";
            text.append(s - backFrom).append('\t').append(phase);
            for (Kind k : Kind.values()) {
                text.append('\t').append(agents.started(s, s + 1, k));
            }
            text.append('\t').append(agents.failed(s, s + 1)).append('\n');
        }
        Files.writeString(file, text);
    }

    /** Agent requests started per second in [from, to). */
    private double rate(long from, long to) {
        return to <= from ? 0 : (double) agents.started(from, to) / (to - from);
    }

    private String byKind(String label, long from, long to) {
        List<String> parts = new ArrayList<>();
        for (Kind k : Kind.values()) {
            parts.add(String.format(Locale.ROOT, "%s_%s_rps=%.1f", label, k.name().toLowerCase(Locale.ROOT),
                    (double) agents.started(from, to, k) / (to - from)));
        }
        return String.join("\t", parts);
    }

    /** Per node that got there, seconds from the server being ready to its first such event (negative: before ready); sorted. */
    private List<Double> sinceReady(Function<String, Long> lastEvent, long startNanos, long readyNanos) {
        List<Double> seconds = new ArrayList<>();
        for (String node : fleet.names()) {
            Long at = lastEvent.apply(node);
            if (at != null && at - startNanos > 0) {
                seconds.add((at - readyNanos) / 1e9);
            }
        }
        Collections.sort(seconds);
        return seconds;
    }

    private static double percentile(List<Double> sorted, int p) {
        if (sorted.isEmpty()) {
            return Double.NaN;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private static void log(String format, Object... values) {
        System.err.printf(Locale.ROOT, "[fleet] " + format + "%n", values);
    }
}
