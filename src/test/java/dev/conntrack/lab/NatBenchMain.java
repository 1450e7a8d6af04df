package dev.conntrack.lab;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.NodeSelector;
import dev.conntrack.operator.AgentDaemonSetFactory;
import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.NodeStatusBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The NAT benchmark, a program that bench/nat.sh runs (not a test: it measures and writes
 * bench/RESULTS.md; AutoRaiseNatE2ETest and NatTableFullE2ETest are the pass/fail checks of the same
 * lab in CI): detection latency over repeated table-full episodes, auto-raise against a correctly
 * sized table, the broken table and the shell-loop peer, the agent's footprint and the API writes
 * per node, side by side in one run. Options as system properties: -Dtrials, -Drequests, -Drounds,
 * -Dphases=throughput.
 */
public final class NatBenchMain {
    private static final String RUN = UUID.randomUUID().toString().substring(0, 8);
    private static final String NODE = "natbench-" + RUN;
    private static final String POLICY = "natbench-" + RUN;
    private static final Pattern PATCHES = Pattern.compile(
            "(?m)^apiserver_request_total\\{([^}]*)\\} ([0-9.e+]+)$");

    private final List<String> rows = new ArrayList<>();
    private final String loadAtStart = loadAverage();
    private KubernetesClient client;
    private NatLab lab;
    private RoleProcess agent;

    public static void main(String[] args) throws Exception {
        if (!Sysctls.available() || !NatLab.available()) {
            System.err.println("[natbench] needs root, a loaded nf_conntrack and iproute2");
            System.exit(2);
        }
        new NatBenchMain().run();
        // The API client's and the test API server's threads would keep the JVM alive.
        System.exit(0);
    }

    private void run() throws Exception {
        int trials = Integer.getInteger("trials", 10);
        int requests = Integer.getInteger("requests", 100000);
        Sysctls host = new Sysctls().save("nf_conntrack_max", "nf_conntrack_tcp_timeout_time_wait");
        client = TestApiServer.newClient();
        Path dir = Files.createTempDirectory("natbench");
        client.nodes().resource(new NodeBuilder().withNewMetadata().withName(NODE).addToLabels("run", RUN).endMetadata().build()).create();
        var node = client.nodes().withName(NODE).get();
        node.setStatus(new NodeStatusBuilder().addToCapacity("cpu", new Quantity("2")).build());
        client.nodes().resource(node).updateStatus();
        Path kubeconfig = TestApiServer.kubeConfigFile(dir);
        try (RoleProcess operator = RoleProcess.start("operator", "operator-natbench", Map.of(
                "KUBECONFIG", kubeconfig.toString(), "CONNTRACK_AGENT_MANAGE_DAEMON_SET", "false",
                "QUARKUS_HTTP_PORT", "0"), "-Xmx192m");
             RoleProcess agentProcess = RoleProcess.start("agent", "agent-natbench", Map.of(
                "NODE_NAME", NODE, "KUBECONFIG", kubeconfig.toString(),
                "CONNTRACK_STATE_DIR", dir.resolve("state").toString(), "CONNTRACK_METRICS_PORT", "0",
                "MALLOC_ARENA_MAX", "2"),
                AgentDaemonSetFactory.DEFAULT_JAVA_OPTS.split(" "));
             NatLab natLab = NatLab.up()) {
            agent = agentProcess;
            lab = natLab;
            // -Dphases=a,b,...: idle, detection, throughput, syn (default all of them).
            String phases = System.getProperty("phases", "idle,detection,throughput,syn");
            if (phases.contains("idle")) {
                idleFootprint("agent idle, no policy");
                writesPerMinute("idle", 60);
            }
            if (phases.contains("detection")) {
                detection(trials);
            }
            if (phases.contains("throughput")) {
                throughput(requests);
            }
            if (phases.contains("syn")) {
                synBurst(Integer.getInteger("synPackets", 300_000));
            }
        } finally {
            client.resources(ConntrackPolicy.class).withName(POLICY).delete();
            client.nodes().withName(NODE).delete();
            host.restore();
            client.close();
        }
        report();
    }

    private void detection(int trials) {
        setPolicy(ct -> ct.setMax(1000), null, "1000");
        List<Long> toStatus = new ArrayList<>();
        List<Long> toEvent = new ArrayList<>();
        for (int i = 0; i < trials; i++) {
            lab.flushRouterTable();
            waitFor(() -> !tableFull(), 30);
            // What a user sees: the condition and the Event arriving on watches, as kubectl get -w shows them.
            DetectionClock status = DetectionClock.start(lab);
            DetectionClock event = DetectionClock.start(lab);
            DetectionClock.Result s;
            DetectionClock.Result e;
            try (var statusWatch = status.onTableFull(client, NODE); var eventWatch = event.onEvent(client, NODE, "ConntrackTableFull")) {
                lab.load(3000, 6000, 2, 10);
                s = status.await(Duration.ofSeconds(20));
                e = event.await(Duration.ofSeconds(20));
            }
            if (s.detected()) {
                toStatus.add(s.millis());
            }
            if (e.detected()) {
                toEvent.add(e.millis());
            }
        }
        rows.add(row("Detection: first kernel drop -> TableFull=True arriving on a watch of the node state", percentiles(toStatus, trials),
                "node-problem-detector polls every 30 s (~60x slower p99 at best)"));
        rows.add(row("Detection: first kernel drop -> Event arriving on a watch (new or count bumped)", percentiles(toEvent, trials),
                "node_exporter: 15-60 s scrape + alert rule"));
    }

    private void throughput(int requests) throws Exception {
        int rounds = Integer.getInteger("rounds", 3);
        // The broken case once: it takes a minute (ab gives up after its socket timeout).
        setPolicy(ct -> ct.setMax(1000), null, "1000");
        Run broken = run("max 1000, no autoscale", Math.min(requests, 20000));
        List<Run> sized = new ArrayList<>();
        List<Run> ours = new ArrayList<>();
        List<Run> peers = new ArrayList<>();
        double agentIdleCpu = 0;
        double peerIdleCpu = 0;
        double writesUnderLoad = 0;
        Footprint underLoad = null;
        // Interleaved rounds, medians reported: this machine is shared, its load moves between runs.
        for (int round = 0; round < rounds; round++) {
            setPolicy(ct -> ct.setMax(131072), null, "131072");
            sized.add(run("sized table (max 131072)", requests));

            // Empty the router's table first: full of the sized run's TIME_WAIT, it would be raised at once.
            lab.flushRouterTable();
            // With autoscale on, max 1000 is raised at once to keep the storm headroom (6251): wait
            // for the policy to be in force (not the sized run's 131072), whatever the agent made of it.
            policy(ct -> ct.setMax(1000), autoscale());
            waitFor(() -> {
                long max = Long.parseLong(Sysctls.read("nf_conntrack_max").trim());
                return max >= 1000 && max < 131072;
            }, 30);
            Thread.sleep(3000);
            agentIdleCpu = Math.max(agentIdleCpu, cpuMillisPerSecond(agent.pid(), 10));
            double patchesBefore = statusPatches();
            Run run = run("max 1000 + autoscale (agent)", requests);
            writesUnderLoad = Math.max(writesUnderLoad, (statusPatches() - patchesBefore) * 60_000.0 / Math.max(run.result().wallMillis(), 1));
            underLoad = footprint(agent.pid());
            ours.add(run);

            client.resources(ConntrackPolicy.class).withName(POLICY).delete();
            waitFor(() -> client.resources(ConntrackPolicy.class).withName(POLICY).get() == null, 30);
            Thread.sleep(2000);
            Sysctls.write("nf_conntrack_max", "1000");
            Process peer = new ProcessBuilder("bash", "-c", """
                    P=%d; while :; do e=$((16#$(awk 'NR==2{print $1}' /proc/$P/net/stat/nf_conntrack)));
                    m=$(cat /proc/sys/net/netfilter/nf_conntrack_max);
                    if (( e*100 >= m*80 )); then echo $((m*2)) > /proc/sys/net/netfilter/nf_conntrack_max; fi; sleep 0.01; done
                    """.formatted(lab.routerPid())).start();
            try {
                Thread.sleep(1000);
                peerIdleCpu = Math.max(peerIdleCpu, treeCpuMillisPerSecond(peer.pid(), 10));
                peers.add(run("max 1000 + shell loop peer (10 ms)", requests));
            } finally {
                ProcessHandle.of(peer.pid()).ifPresent(h -> h.descendants().forEach(ProcessHandle::destroyForcibly));
                peer.destroyForcibly();
                peer.waitFor(5, TimeUnit.SECONDS);
            }
        }
        Run sizedMedian = median(sized);
        rows.add(row("Throughput, sized table (median of " + rounds + ")", sizedMedian.describe(), "reference (100%)"));
        rows.add(row("Throughput, broken (max 1000)", broken.describe(), ratio(broken, sizedMedian)));
        Run oursMedian = median(ours);
        Run peerMedian = median(peers);
        rows.add(row("Throughput, auto-raise (ours, median of " + rounds + ")", oursMedian.describe()
                + "; drops in every round: " + ours.stream().map(r -> Long.toString(r.dropsDelta())).toList(), ratio(oursMedian, sizedMedian)));
        rows.add(row("Throughput, shell-loop peer (median of " + rounds + ")", peerMedian.describe()
                + "; drops in every round: " + peers.stream().map(r -> Long.toString(r.dropsDelta())).toList(), ratio(peerMedian, sizedMedian)));
        rows.add(row("Idle CPU while armed (worst round): agent, whole process", String.format("%.2f ms/s", agentIdleCpu),
                String.format("peer loop %.2f ms/s (%.1fx the agent)", peerIdleCpu, peerIdleCpu / Math.max(agentIdleCpu, 0.01))));
        rows.add(row("Agent under load", underLoad.describe(), ""));
        rows.add(row("Node state status writes per node per minute, under load (auto-raise run, worst round)",
                String.format("%.1f", writesUnderLoad), "changes are written at once, the rest on the heartbeat"));
    }

    /**
     * A SYN burst of distinct flows (a random source per packet) into the router's table from
     * max 4096 with autoscale: every packet is a new entry, faster than ab's connections, and none
     * of them ever completes, so only raising ahead of the burst avoids drops.
     */
    private void synBurst(int packets) throws Exception {
        int rounds = Integer.getInteger("rounds", 3);
        List<String> figures = new ArrayList<>();
        List<Long> drops = new ArrayList<>();
        for (int round = 0; round < rounds; round++) {
            client.resources(ConntrackPolicy.class).withName(POLICY).delete();
            waitFor(() -> client.resources(ConntrackPolicy.class).withName(POLICY).get() == null, 30);
            lab.flushRouterTable();
            AutoscaleSpec a = autoscale();
            a.setCeiling(1048576);
            a.setMemoryBudget("512Mi");
            policy(ct -> ct.setMax(4096), a);
            // Autoscale keeps its storm headroom: 4096 is raised to 6251 at once; wait for the policy to be in force.
            // Applied first: the max an earlier phase left (the peer's 64000) is in the range too, and
            // the agent writing 4096 in the middle of the flood made drops that were the harness's.
            waitFor(this::policyApplied, 30);
            waitFor(() -> {
                long max = Long.parseLong(Sysctls.read("nf_conntrack_max").trim());
                return max >= 4096 && max < 131072;
            }, 30);
            Thread.sleep(2000);
            long maxBefore = Long.parseLong(Sysctls.read("nf_conntrack_max").trim());
            long before = lab.routerDrops();
            // Paced (-DsynIntervalMicros, hping3 sleeps between packets: about 12,000 a second here) or
            // as fast as hping3 sends for -DsynSeconds (--flood, the default).
            NatLab.LoadResult burst = Integer.getInteger("synIntervalMicros", 0) > 0
                    ? lab.synBurst(packets, Integer.getInteger("synIntervalMicros"), 60)
                    : lab.synFlood(Integer.getInteger("synSeconds", 3));
            Thread.sleep(500);
            long dropped = lab.routerDrops() - before;
            long entries = lab.routerCounter("entries");
            long maxAfter = Long.parseLong(Sysctls.read("nf_conntrack_max").trim());
            drops.add(dropped);
            Matcher sent = Pattern.compile("(\\d+) packets transmitted").matcher(burst.output());
            long packetsSent = sent.find() ? Long.parseLong(sent.group(1)) : -1;
            figures.add(String.format("%d SYNs (%.0f/s), %d kernel drops, %d entries at the end, max %d -> %d",
                    packetsSent, packetsSent * 1000.0 / Math.max(1, burst.wallMillis()), dropped, entries, maxBefore, maxAfter));
            System.out.println("[natbench] SYN burst round " + round + ": " + figures.get(figures.size() - 1)
                    + "\n" + burst.output().trim());
        }
        rows.add(row("SYN burst of distinct flows from max 4096 + autoscale (hping3 --rand-source "
                + (Integer.getInteger("synIntervalMicros", 0) > 0 ? "-c " + packets : "--flood for " + Integer.getInteger("synSeconds", 3) + " s")
                + ", every round)",
                String.join("; ", figures), "target: zero kernel drops in every round"));
    }

    private void setPolicy(Consumer<ConntrackSettings> settings, AutoscaleSpec autoscale, String expectedMax) {
        policy(settings, autoscale);
        waitFor(() -> Sysctls.read("nf_conntrack_max").equals(expectedMax), 30);
    }

    private static Run median(List<Run> runs) {
        List<Run> sorted = new ArrayList<>(runs);
        sorted.sort(java.util.Comparator.comparingDouble(Run::effectiveRps));
        return sorted.get(sorted.size() / 2);
    }

    private record Run(String name, NatLab.LoadResult result, long dropsDelta, long agentCpuMillis) {
        String describe() {
            return String.format("%d/%d done, %d failed, %.0f req/s, %d kernel drops, %.1f s, agent CPU %d ms",
                    result.completeRequests(), requestsAsked(), result.failedRequests(), effectiveRps(), dropsDelta,
                    result.wallMillis() / 1000.0, agentCpuMillis);
        }

        int requestsAsked() {
            Matcher m = Pattern.compile("-n (\\d+)").matcher(name);
            return m.find() ? Integer.parseInt(m.group(1)) : result.completeRequests();
        }

        /** Completed requests over wall time: ab's own figure is missing when it aborts. */
        double effectiveRps() {
            return result.completeRequests() / Math.max(result.wallMillis() / 1000.0, 0.001);
        }
    }

    private Run run(String name, int requests) {
        lab.flushRouterTable();
        long before = lab.routerDrops();
        long agentTicks = cpuTicks(agent.pid());
        NatLab.LoadResult result = lab.load(5000, requests, 30, 120);
        Run run = new Run(name + " -n " + requests, result, lab.routerDrops() - before, (cpuTicks(agent.pid()) - agentTicks) * 10);
        System.out.println("[natbench] " + run.describe() + " (" + name + ")");
        return run;
    }

    private static String ratio(Run run, Run reference) {
        return String.format("%.1f%% of sized", 100.0 * run.effectiveRps() / reference.effectiveRps());
    }

    private void policy(Consumer<ConntrackSettings> settings, AutoscaleSpec autoscale) {
        ConntrackPolicy policy = client.resources(ConntrackPolicy.class).withName(POLICY).get();
        boolean create = policy == null;
        if (create) {
            policy = new ConntrackPolicy();
            policy.getMetadata().setName(POLICY);
            policy.getSpec().setNodeSelector(new NodeSelector(Map.of("run", RUN), null));
        }
        ConntrackSettings ct = new ConntrackSettings();
        settings.accept(ct);
        ct.setAutoscale(autoscale);
        policy.getSpec().setConntrack(ct);
        if (create) {
            client.resource(policy).create();
        } else {
            client.resource(policy).update();
        }
    }

    private static AutoscaleSpec autoscale() {
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setCeiling(262144);
        a.setMemoryBudget("256Mi");
        return a;
    }

    /** The agent reports this policy's node spec applied (its generation, Applied=True). */
    private boolean policyApplied() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        if (state == null || state.getStatus() == null || state.getSpec() == null || state.getSpec().getPolicies() == null
                || !state.getSpec().getPolicies().contains(POLICY)) {
            return false;
        }
        var applied = Conditions.find(state.getStatus().getConditions(), "Applied");
        return state.getMetadata().getGeneration().equals(state.getStatus().getObservedGeneration())
                && applied != null && "True".equals(applied.getStatus())
                && state.getMetadata().getGeneration().equals(applied.getObservedGeneration());
    }

    private boolean tableFull() {
        ConntrackNodeState state = client.resources(ConntrackNodeState.class).withName(NODE).get();
        return state != null && state.getStatus() != null && Conditions.isTrue(state.getStatus().getConditions(), "TableFull");
    }

    private void idleFootprint(String label) throws InterruptedException {
        Thread.sleep(10_000);
        double cpu = cpuMillisPerSecond(agent.pid(), 30);
        rows.add(row("Agent " + label, footprint(agent.pid()).describe() + String.format(", %.2f ms CPU/s", cpu), "target <= 64 MiB, <= 5 ms/s"));
    }

    private void writesPerMinute(String label, int seconds) throws InterruptedException {
        double before = statusPatches();
        Thread.sleep(seconds * 1000L);
        double per = (statusPatches() - before) * 60.0 / seconds;
        rows.add(row("Node state status writes per node per minute, " + label, String.format("%.1f", per),
                "target about 1 (heartbeat); never once per poll (60)"));
    }

    private double statusPatches() {
        String metrics = client.raw("/metrics");
        double sum = 0;
        Matcher m = PATCHES.matcher(metrics);
        while (m.find()) {
            String labels = m.group(1);
            if (labels.contains("resource=\"conntracknodestates\"") && labels.contains("subresource=\"status\"")
                    && labels.contains("verb=\"PATCH\"")) {
                sum += Double.parseDouble(m.group(2));
            }
        }
        return sum;
    }

    private record Footprint(long rssKib, int threads) {
        String describe() {
            return String.format("RSS %.1f MiB, %d threads", rssKib / 1024.0, threads);
        }
    }

    private static Footprint footprint(long pid) {
        try {
            long rss = 0;
            int threads = 0;
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = Long.parseLong(line.replaceAll("\\D", ""));
                } else if (line.startsWith("Threads:")) {
                    threads = Integer.parseInt(line.replaceAll("\\D", ""));
                }
            }
            return new Footprint(rss, threads);
        } catch (IOException e) {
            return new Footprint(-1, -1);
        }
    }

    private static double cpuMillisPerSecond(long pid, int seconds) throws InterruptedException {
        long before = cpuTicks(pid);
        Thread.sleep(seconds * 1000L);
        return (cpuTicks(pid) - before) * 10.0 / seconds; // USER_HZ = 100: one tick is 10 ms
    }

    /** CPU of a process and all its descendants, including finished children (cutime/cstime). */
    private static double treeCpuMillisPerSecond(long pid, int seconds) throws InterruptedException {
        long before = cpuTicksWithChildren(pid);
        Thread.sleep(seconds * 1000L);
        return (cpuTicksWithChildren(pid) - before) * 10.0 / seconds;
    }

    private static long cpuTicks(long pid) {
        String[] f = stat(pid);
        return f.length > 14 ? Long.parseLong(f[13]) + Long.parseLong(f[14]) : 0;
    }

    private static long cpuTicksWithChildren(long pid) {
        String[] f = stat(pid);
        return f.length > 16 ? Long.parseLong(f[13]) + Long.parseLong(f[14]) + Long.parseLong(f[15]) + Long.parseLong(f[16]) : 0;
    }

    private static String[] stat(long pid) {
        try {
            String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // Fields after the command name start at field 3; pad so index 13 is field 14 (utime).
            return ("pid comm " + s.substring(s.lastIndexOf(')') + 2)).split(" ");
        } catch (IOException e) {
            return new String[0];
        }
    }

    private static String percentiles(List<Long> values, int trials) {
        if (values.isEmpty()) {
            return "not detected in " + trials + " trials";
        }
        List<Long> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        long p50 = sorted.get((sorted.size() - 1) / 2);
        long p99 = sorted.get((int) Math.ceil(0.99 * sorted.size()) - 1);
        return String.format("p50 %d ms, p99 %d ms, max %d ms (%d/%d trials)", p50, p99, sorted.get(sorted.size() - 1),
                values.size(), trials);
    }

    private static String row(String what, String figure, String peer) {
        return "| " + what + " | " + figure + " | " + peer + " |";
    }

    private void report() throws IOException {
        String heading = "## NAT table-full case (bench/nat.sh)";
        StringBuilder table = new StringBuilder(heading).append("\n\n")
                .append("Measured ").append(LocalDateTime.now().withNano(0)).append(" on ")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores, kernel ").append(kernel())
                .append("; load average at the start ").append(loadAtStart).append(", at the end ").append(loadAverage())
                .append(" (the machine is shared: other work moves the figures). Agent with the DaemonSet's JVM options; ")
                .append(Integer.getInteger("rounds", 3)).append(" interleaved rounds of sized / auto-raise / peer.\n\n")
                .append("| measure | figure | peer / target |\n|---|---|---|\n");
        rows.forEach(r -> table.append(r).append('\n'));
        System.out.println(table);
        Path results = TestApiServer.projectDir().resolve("bench/RESULTS.md");
        Files.writeString(results, replaceSection(Files.exists(results) ? Files.readString(results) : "# Benchmark results\n",
                heading, table.toString()), StandardCharsets.UTF_8);
    }

    /** The section under {@code heading} (up to the next "## ") replaced, or appended: other benchmarks' sections stay. */
    static String replaceSection(String document, String heading, String section) {
        List<String> out = new ArrayList<>();
        boolean skipping = false;
        boolean replaced = false;
        for (String line : document.split("\n", -1)) {
            if (line.startsWith("## ")) {
                skipping = false;
                if (line.startsWith(heading)) {
                    if (!replaced) {
                        out.add(section);
                        replaced = true;
                    }
                    skipping = true;
                    continue;
                }
            }
            if (!skipping) {
                out.add(line);
            }
        }
        String text = String.join("\n", out);
        return replaced ? text : text.stripTrailing() + "\n\n" + section;
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).split(" ");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static String kernel() {
        try {
            return Files.readString(Path.of("/proc/sys/kernel/osrelease")).trim();
        } catch (IOException e) {
            return "unknown";
        }
    }

    private static void waitFor(java.util.function.BooleanSupplier condition, int seconds) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        while (System.nanoTime() < deadline) {
            try {
                if (condition.getAsBoolean()) {
                    return;
                }
            } catch (RuntimeException ignored) {
                // try again
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        throw new IllegalStateException("condition not met in " + seconds + " s");
    }
}
