package dev.conntrack.fleet;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.api.RolloutSpec;
import dev.conntrack.api.RolloutStatus;
import dev.conntrack.testing.AgentKubeClients;
import io.fabric8.kubernetes.api.model.IntOrString;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.jdkhttp.JdkHttpClientFactory;
import io.fabric8.kubernetes.client.utils.Serialization;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * The fleet benchmark driver (bench/fleet.sh runs it): N simulated nodes and agents
 * ({@link SimulatedFleet}) against a real kube-apiserver, with the operator running as its own
 * process (its pid is given, to sample its memory and CPU). Measures, for a policy edit with
 * batching off ("100%") and with 10% batches: seconds until every node spec carries the new
 * generation and until every node reported it Applied (p50, p99, max); the operator's CPU and RSS;
 * API requests per second from the operator and the agents (the API server's own counters), idle
 * and during the rollout; the size of the policy object. Prints one line per phase and appends
 * them to the --out file as tab-separated values.
 *
 * <p>Usage: {@code FleetSimulator --nodes=1000 --operator-pid=PID --dir=/tmp/fleet-bench
 * [--min-poll-seconds=10] [--idle-seconds=60] [--threads=8] [--phases=off,alone,batches] [--out=file]};
 * {@code --phases} picks the edits to run (all three by default); KUBECONFIG names the
 * cluster (admin credentials: it also reads /metrics). The phase {@code outage} ({@link FleetOutage})
 * runs last and needs {@code --apiserver-pid-file} (the API server is stopped and started again);
 * {@code --outage-seconds=60 --outage-idle-seconds=120 --recovery-seconds=180} time it. With it, or
 * with {@code --own-watches}, every agent watches its own node state ({@link SimulatedFleet.Options#ownWatches()}).
 * {@code --operator-pid-file} (instead of the pid) follows an operator that is restarted.
 */
public final class FleetSimulator {
    private static final Duration TIMEOUT = Duration.ofMinutes(15);
    /** Every simulated host lacks /dev/kmsg; one warning per agent says nothing here. Held so it is not collected. */
    private static final java.util.logging.Logger KMSG = java.util.logging.Logger.getLogger("dev.conntrack.kernel.KmsgWatcher");

    private final Map<String, String> args;
    private final KubernetesClient client;
    private final int nodes;
    private ProcessSampler operator;
    private long operatorPid;
    private final ProcessSampler apiServer;
    private final ProcessSampler etcd;
    private final ProcessSampler self = new ProcessSampler(ProcessHandle.current().pid());
    private final Path out;
    private final String run = UUID.randomUUID().toString().substring(0, 6);
    private SimulatedFleet fleet;
    private CountingAgentClient agentClient;
    private String policyName;

    private FleetSimulator(Map<String, String> args) {
        this.args = args;
        this.nodes = Integer.parseInt(required("nodes"));
        this.operatorPid = args.containsKey("operator-pid-file") ? operatorPidFromFile() : Long.parseLong(required("operator-pid"));
        this.operator = new ProcessSampler(operatorPid);
        this.apiServer = args.containsKey("apiserver-pid") ? new ProcessSampler(Long.parseLong(args.get("apiserver-pid"))) : null;
        this.etcd = args.containsKey("etcd-pid") ? new ProcessSampler(Long.parseLong(args.get("etcd-pid"))) : null;
        this.out = args.containsKey("out") ? Path.of(args.get("out")) : null;
        // Like the agent's own client (JDK HTTP client), with room for a loaded API server.
        Config config = new ConfigBuilder(Config.autoConfigure(null))
                .withConnectionTimeout(10_000).withRequestTimeout(60_000).withRequestRetryBackoffLimit(3).build();
        this.client = new KubernetesClientBuilder().withConfig(config).withHttpClientFactory(new JdkHttpClientFactory()).build();
    }

    public static void main(String... argv) throws Exception {
        KMSG.setLevel(java.util.logging.Level.SEVERE);
        Map<String, String> args = new HashMap<>();
        for (String a : argv) {
            String[] kv = a.replaceFirst("^--", "").split("=", 2);
            args.put(kv[0], kv.length > 1 ? kv[1] : "true");
        }
        FleetSimulator sim = new FleetSimulator(args);
        try {
            sim.run();
        } finally {
            sim.close();
        }
        System.exit(0);
    }

    private void run() throws Exception {
        int minPoll = Integer.parseInt(args.getOrDefault("min-poll-seconds", "10"));
        int idleSeconds = Integer.parseInt(args.getOrDefault("idle-seconds", "60"));
        int threads = Integer.parseInt(args.getOrDefault("threads", "8"));
        Path dir = Path.of(required("dir"));
        Set<String> phases = Set.of(args.getOrDefault("phases", "off,alone,batches").split(","));
        boolean ownWatches = phases.contains("outage") || Boolean.parseBoolean(args.getOrDefault("own-watches", "false"));
        agentClient = new CountingAgentClient(AgentKubeClients.config(client), Duration.ofSeconds(10), Duration.ofSeconds(60));
        fleet = new SimulatedFleet(client, agentClient, new SimulatedFleet.Options("sim-" + run, nodes, Map.of("fleet-bench", run), "8",
                dir, Duration.ofSeconds(minPoll), Duration.ofSeconds(60), threads, ownWatches));

        long t0 = System.nanoTime();
        fleet.createNodes(client, 16);
        log("created %d nodes in %.1f s", nodes, since(t0));
        t0 = System.nanoTime();
        fleet.start();
        log("started %d simulated agents in %.1f s", nodes, since(t0));
        waitFor("every node state exists and was reported", () -> fleet.states().stream()
                .filter(s -> s.getStatus() != null).count() == nodes);

        policyName = "fleet-bench-" + run;
        ConntrackPolicy policy = new ConntrackPolicy();
        policy.getMetadata().setName(policyName);
        policy.getSpec().setNodeSelector(new NodeSelector(Map.of("fleet-bench", run), null));
        ConntrackSettings ct = new ConntrackSettings();
        ct.setMax(262144);
        ct.setTcpTimeWait("120s");
        policy.getSpec().setConntrack(ct);
        MonitoringSpec monitoring = new MonitoringSpec();
        monitoring.setPollInterval(minPoll + "s");
        policy.getSpec().setMonitoring(monitoring);
        policy.getSpec().setRollout(rollout("100%"));
        RolloutTimes first = track(1);
        client.resource(policy).create();
        waitFor("the new policy applied on every node", first::allApplied);
        log("first policy on %d nodes (batching off): applied p50 %.1f s, max %.1f s", nodes,
                first.appliedSeconds()[0], first.appliedSeconds()[2]);

        Thread.sleep(15_000); // let the last writes and roll-ups settle
        idle(idleSeconds);

        // Each phase edits the policy once: its generation goes up by one per phase that runs.
        long generation = 1;
        if (phases.contains("off")) {
            rolloutPhase("off (100%)", ++generation, p -> {
                p.getSpec().getConntrack().setMax(524288);
                p.getSpec().getConntrack().setTcpTimeWait("30s");
                return p;
            });
            Thread.sleep(10_000);
        }
        if (phases.contains("alone")) {
            operatorAlone(++generation, p -> {
                p.getSpec().getConntrack().setMax(786432);
                return p;
            });
            Thread.sleep(10_000);
        }
        if (phases.contains("batches")) {
            rolloutPhase("10% batches", ++generation, p -> {
                p.getSpec().setRollout(rollout("10%"));
                p.getSpec().getConntrack().setMax(1048576);
                return p;
            });
        }

        ConntrackPolicy stored = client.resources(ConntrackPolicy.class).withName(policyName).get();
        int policyBytes = Serialization.asJson(stored).getBytes(StandardCharsets.UTF_8).length;
        int statusBytes = Serialization.asJson(stored.getStatus()).getBytes(StandardCharsets.UTF_8).length;
        emit("size", String.format(Locale.ROOT, "policy_json_bytes=%d\tstatus_json_bytes=%d", policyBytes, statusBytes));
        emit("operator", String.format(Locale.ROOT, "peak_rss_mib=%.0f\tcpu_seconds_total=%.1f", operator.peakRssMib(), operator.cpuSeconds()));
        emit("simulator", String.format(Locale.ROOT, "polls=%d\tpoll_failures=%d", fleet.polls(), fleet.pollFailures()));
        if (phases.contains("outage")) {
            Path pidFile = Path.of(required("apiserver-pid-file"));
            FleetOutage outage = new FleetOutage(client, fleet, agentClient, new ApiServerRestart(pidFile, ApiServerRestart.logOf(pidFile)));
            Path timeline = out == null ? null : out.resolveSibling("outage-timeline-" + nodes + ".tsv");
            emit("outage", outage.run(seconds("outage-idle-seconds", 120), seconds("outage-seconds", 60), seconds("recovery-seconds", 180),
                    timeline));
            // Every agent's watch and poll work again: an edit reaches every node and is reported Applied.
            rolloutPhase("after the outage, batching off", ++generation, p -> {
                p.getSpec().getConntrack().setMax(1310720);
                return p;
            });
        }
    }

    private Duration seconds(String arg, int defaultSeconds) {
        return Duration.ofSeconds(Long.parseLong(args.getOrDefault(arg, Integer.toString(defaultSeconds))));
    }

    /** The operator may have been restarted (it stops when it loses its Lease, e.g. in an API server outage): follow its new pid. */
    private void followOperator() {
        if (!args.containsKey("operator-pid-file")) {
            return;
        }
        long pid = operatorPidFromFile();
        if (pid != operatorPid) {
            operator.close();
            operatorPid = pid;
            operator = new ProcessSampler(pid);
        }
    }

    private long operatorPidFromFile() {
        try {
            return Long.parseLong(Files.readString(Path.of(args.get("operator-pid-file"))).trim());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private void idle(int seconds) throws InterruptedException {
        ApiRequestCounts before = ApiRequestCounts.scrape(client);
        double cpu0 = operator.cpuSeconds();
        double[] others0 = otherCpu();
        operator.resetMax();
        long t0 = System.nanoTime();
        Thread.sleep(seconds * 1000L);
        double elapsed = since(t0);
        ApiRequestCounts.Delta d = ApiRequestCounts.scrape(client).since(before);
        emit("idle", String.format(Locale.ROOT,
                "seconds=%.0f\toperator_cpu_percent=%.1f\toperator_rss_mib=%.0f\toperator_rps=%.2f\tagent_rps=%.2f"
                        + "\tagent_status_writes_per_node_min=%.2f\tdriver_requests=%.0f\t%s\tby_key=%s",
                elapsed, 100 * (operator.cpuSeconds() - cpu0) / elapsed, operator.maxRssMib(), d.operator() / elapsed,
                d.agents() / elapsed, d.agentStatusWrites() / nodes / (elapsed / 60), d.driver(), otherCpuText(others0), d.byKey()));
    }

    private void rolloutPhase(String label, long generation, UnaryOperator<ConntrackPolicy> edit) throws InterruptedException {
        followOperator();
        ApiRequestCounts before = ApiRequestCounts.scrape(client);
        double cpu0 = operator.cpuSeconds();
        double[] others0 = otherCpu();
        operator.resetMax();
        RolloutTimes times = track(generation);
        int[] maxInFlight = {0};
        Thread sampler = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                maxInFlight[0] = Math.max(maxInFlight[0], fleet.inFlight(policyName, generation));
                try {
                    Thread.sleep(250);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "in-flight-sampler");
        sampler.setDaemon(true);
        sampler.start();
        long t0 = System.nanoTime();
        ConntrackPolicy p = client.resources(ConntrackPolicy.class).withName(policyName).get();
        p = edit.apply(p);
        p.setStatus(null);
        client.resource(p).update();
        waitFor(label + ": every node reported Applied", times::allApplied);
        double elapsed = since(t0);
        sampler.interrupt();
        ApiRequestCounts.Delta d = ApiRequestCounts.scrape(client).since(before);
        RolloutStatus rollout = client.resources(ConntrackPolicy.class).withName(policyName).get().getStatus().getRollout();
        int budget = rollout == null || rollout.getMaxUnavailable() == null ? -1 : rollout.getMaxUnavailable();
        double[] spec = times.specSeconds();
        double[] applied = times.appliedSeconds();
        emit("rollout " + label, String.format(Locale.ROOT,
                "spec_p50=%.1f\tspec_p99=%.1f\tspec_max=%.1f\tapplied_p50=%.1f\tapplied_p99=%.1f\tapplied_max=%.1f"
                        + "\tmax_in_flight=%d\tmax_unavailable=%d\tseconds=%.1f\toperator_cpu_seconds=%.1f\toperator_cpu_percent=%.1f"
                        + "\toperator_rss_mib=%.0f\toperator_rps=%.1f\tagent_rps=%.1f\t%s\tby_key=%s",
                spec[0], spec[1], spec[2], applied[0], applied[1], applied[2], maxInFlight[0], budget, elapsed,
                operator.cpuSeconds() - cpu0, 100 * (operator.cpuSeconds() - cpu0) / elapsed, operator.maxRssMib(),
                d.operator() / elapsed, d.agents() / elapsed, otherCpuText(others0), d.byKey()));
    }

    /** CPU seconds so far of the API server, etcd and this simulator (NaN when not sampled). */
    private double[] otherCpu() {
        return new double[] {apiServer == null ? Double.NaN : apiServer.cpuSeconds(), etcd == null ? Double.NaN : etcd.cpuSeconds(),
                self.cpuSeconds()};
    }

    private String otherCpuText(double[] before) {
        double[] now = otherCpu();
        return String.format(Locale.ROOT, "apiserver_cpu_seconds=%.1f\tetcd_cpu_seconds=%.1f\tsimulator_cpu_seconds=%.1f",
                now[0] - before[0], now[1] - before[1], now[2] - before[2]);
    }

    /**
     * A diagnostic: the same edit with batching off while every simulated agent is paused, so the
     * API server serves the operator alone. Measures edit -> every spec only; the agents then catch up.
     */
    private void operatorAlone(long generation, UnaryOperator<ConntrackPolicy> edit) throws InterruptedException {
        fleet.pauseAgents();
        Thread.sleep(5_000); // let polls already running finish
        ApiRequestCounts before = ApiRequestCounts.scrape(client);
        double cpu0 = operator.cpuSeconds();
        double[] others0 = otherCpu();
        RolloutTimes times = track(generation);
        long t0 = System.nanoTime();
        ConntrackPolicy p = edit.apply(client.resources(ConntrackPolicy.class).withName(policyName).get());
        p.setStatus(null);
        client.resource(p).update();
        waitFor("agents paused: every node spec carries the edit", times::allSpecs);
        double elapsed = since(t0);
        ApiRequestCounts.Delta d = ApiRequestCounts.scrape(client).since(before);
        double[] spec = times.specSeconds();
        emit("specs only, agents paused", String.format(Locale.ROOT,
                "spec_p50=%.1f\tspec_p99=%.1f\tspec_max=%.1f\tseconds=%.1f\toperator_cpu_seconds=%.1f\toperator_cpu_percent=%.1f"
                        + "\toperator_rps=%.1f\t%s\tby_key=%s",
                spec[0], spec[1], spec[2], elapsed, operator.cpuSeconds() - cpu0, 100 * (operator.cpuSeconds() - cpu0) / elapsed,
                d.operator() / elapsed, otherCpuText(others0), d.byKey()));
        fleet.resumeAgents();
        waitFor("agents resumed: every node reported the edit", times::allApplied);
    }

    private RolloutTimes track(long generation) {
        RolloutTimes times = new RolloutTimes(policyName, generation, System.nanoTime(), new HashSet<>(fleet.names()));
        fleet.onChange(times::observe);
        // Nodes may already carry it (nothing to change for them): count what the cache shows now too.
        fleet.states().forEach(times::observe);
        return times;
    }

    private static RolloutSpec rollout(String maxUnavailable) {
        RolloutSpec r = new RolloutSpec();
        r.setMaxUnavailable(new IntOrString(maxUnavailable));
        return r;
    }

    private void emit(String phase, String fields) {
        String line = "nodes=" + nodes + "\tphase=" + phase + "\t" + fields;
        System.out.println(line);
        if (out != null) {
            try {
                Files.writeString(out, line + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }
    }

    private void waitFor(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        long lastLog = System.nanoTime();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("timed out after " + TIMEOUT + " waiting until " + what);
            }
            if (System.nanoTime() - lastLog > 10_000_000_000L) {
                log("still waiting until %s", what);
                lastLog = System.nanoTime();
            }
            Thread.sleep(100);
        }
    }

    private String required(String name) {
        String v = args.get(name);
        if (v == null) {
            throw new IllegalArgumentException("--" + name + "= is required");
        }
        return v;
    }

    private static double since(long t0) {
        return (System.nanoTime() - t0) / 1e9;
    }

    private static void log(String format, Object... values) {
        System.err.printf(Locale.ROOT, "[fleet] " + format + "%n", values);
    }

    private void close() {
        operator.close();
        self.close();
        if (apiServer != null) {
            apiServer.close();
        }
        if (etcd != null) {
            etcd.close();
        }
        if (fleet != null) {
            fleet.close();
        }
        client.close();
    }
}
