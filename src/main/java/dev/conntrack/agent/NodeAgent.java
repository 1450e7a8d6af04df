package dev.conntrack.agent;

import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgWatcher;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent's threads, and only them: everything they run is in plain classes without threads of
 * their own. The poll thread runs the {@link NodePoller} at the spec's interval, or at once when a
 * watcher wakes it: the spec watch (a new spec), the kernel log watcher (a "table full" line) and
 * the count watcher (auto-raise due, first drops, a namespace filling). The reporting thread writes
 * the newest status and the Events, so a slow or absent API server never delays enforcement. The
 * explaining thread lists the table when the poll asks for it.
 */
public final class NodeAgent implements AutoCloseable {
    /** Events of the same reason within this time of the first bump its count (README "Events": 5 minutes). */
    static final Duration EVENT_WINDOW = Duration.ofMinutes(5);
    private static final Logger LOG = Logger.getLogger(NodeAgent.class.getName());
    /** The reporting thread looks for a due status write at least this often (heartbeats, retries). */
    static final long REPORT_EVERY_MILLIS = 200;

    private final NodePoller poller;
    private final NodeSpecWatch spec;
    private final KmsgWatcher kmsg;
    private final TableCountWatcher counts;
    private final AgentMetrics metrics;
    private final AgentHealth health;
    private final ExecutorService explaining = Executors.newSingleThreadExecutor(r -> thread("conntrack-explain", r, false));
    private final BlockingQueue<Boolean> wake = new ArrayBlockingQueue<>(1);
    private final List<Thread> threads = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean rescanWanted;
    private volatile boolean running = true;

    public NodeAgent(AgentConfig config, HostPaths paths, AgentMetrics metrics, KubeClient client, Clock clock) {
        this.metrics = metrics;
        this.spec = new NodeSpecWatch(client, config.nodeName(), this::wake);
        this.health = new AgentHealth(() -> threadAlive("conntrack-spec-watch"));
        this.kmsg = new KmsgWatcher(paths, clock);
        this.counts = new TableCountWatcher(paths, rescan -> {
            if (rescan) {
                rescanWanted = true;
            }
            wake();
        });
        this.poller = new NodePoller(config, paths, kmsg, spec, metrics,
                new StatusReporter(client, config.nodeName(), clock, config.heartbeat()),
                new NodeEventRecorder(client, config.nodeName(), clock, EVENT_WINDOW), clock, explaining);
    }

    public void start() {
        // A "table full" kernel line wakes the poll at once: TableFull is then reported within a
        // status write instead of up to a poll interval later.
        kmsg.onTableFull(this::wake);
        if (kmsg.open()) {
            threads.add(thread("kmsg-watcher", kmsg::follow, true));
        }
        threads.add(thread("conntrack-spec-watch", spec::run, true));
        threads.add(thread("conntrack-count-watch", counts::run, true));
        threads.add(thread("conntrack-poll", this::pollLoop, true));
        threads.add(thread("conntrack-report", this::reportLoop, true));
    }

    /** What the liveness and readiness probes answer. */
    AgentHealth health() {
        return health;
    }

    private boolean threadAlive(String name) {
        for (Thread t : threads) {
            if (t.getName().equals(name)) {
                return t.isAlive();
            }
        }
        return false;
    }

    /** Wakes the poll loop now, e.g. when the spec changed. */
    public void wake() {
        wake.offer(Boolean.TRUE);
    }

    private void pollLoop() {
        while (running) {
            long started = System.nanoTime();
            Duration interval = Duration.ofSeconds(1);
            boolean completed = false;
            try {
                boolean rescan = rescanWanted;
                rescanWanted = false;
                NodePoller.Next next = poller.pollOnce(rescan, counts.growthPerSecond());
                interval = next.interval();
                counts.watchNamespace(next.hotStats());
                counts.rule(next.watch());
                completed = true;
            } catch (RuntimeException e) {
                // One bad poll (an unexpected kernel format, say) must not end enforcement.
                LOG.log(Level.WARNING, "poll failed", e);
            }
            health.polled(completed, spec.current().isPresent(), interval, System.nanoTime());
            metrics.pollTook(System.nanoTime() - started);
            long waitNanos = interval.toNanos() - (System.nanoTime() - started);
            try {
                wake.poll(Math.max(waitNanos, 0), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void reportLoop() {
        while (running) {
            try {
                poller.awaitEvent(REPORT_EVERY_MILLIS);
                poller.reportOnce(!health.stale(System.nanoTime()));
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "reporting failed; retrying", e);
            }
        }
    }

    private static Thread thread(String name, Runnable body, boolean start) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        if (start) {
            t.start();
        }
        return t;
    }

    @Override
    public void close() {
        running = false;
        for (Thread t : threads) {
            t.interrupt();
        }
        counts.close();
        explaining.shutdownNow();
        kmsg.close();
        spec.close();
    }
}
