package dev.conntrack.fleet;

import dev.conntrack.agent.AgentConfig;
import dev.conntrack.agent.AgentMetrics;
import dev.conntrack.agent.NodePoller;
import dev.conntrack.agent.NodeEventRecorder;
import dev.conntrack.agent.StatusReporter;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgWatcher;
import io.fabric8.kubernetes.api.model.Node;
import io.fabric8.kubernetes.api.model.NodeBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.testing.AgentKubeClients;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Many agents in one process against a real API server: one Node object per simulated node (with
 * labels and CPU capacity), and for each the agent's real code ({@link NodePoller}: applier,
 * conditions, status reporter, event recorder) over its own fake kernel tree ({@link FakeHost}).
 * What is shared, and so differs from a real fleet: one {@link KubernetesClient}, one informer on
 * all node states instead of one watch per agent ({@link SharedSpecWatch}), one scheduler whose
 * threads run {@link NodePoller#pollOnce()} + {@link NodePoller#reportOnce()} at the spec's poll
 * interval but never more often than {@code minPoll} (and at once when the node's spec changes),
 * and one unserved metrics registry.
 */
public final class SimulatedFleet implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SimulatedFleet.class.getName());

    /**
     * @param prefix    node names are prefix-00000, prefix-00001, ...
     * @param labels    labels of every node (a policy selects the fleet by them)
     * @param cpu       CPU capacity of every node
     * @param dir       where the fake kernel trees and originals files go
     * @param minPoll   floor of the poll interval per agent
     * @param heartbeat the agents' status heartbeat (the real default is 60 s)
     * @param threads   scheduler threads shared by all agents
     */
    public record Options(String prefix, int nodes, Map<String, String> labels, String cpu, Path dir,
            Duration minPoll, Duration heartbeat, int threads) {
    }

    private final KubernetesClient client;
    /** The agents' own API client (what a real agent writes with), same server and identity as client. */
    private final KubeClient agentClient;
    private final Options options;
    private final List<String> names = new ArrayList<>();
    private final Set<String> brokenBuckets = ConcurrentHashMap.newKeySet();
    private final Map<String, NodePoller> agents = new ConcurrentHashMap<>();
    private final List<Consumer<ConntrackNodeState>> observers = new CopyOnWriteArrayList<>();
    private final AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry());
    private final AtomicLong polls = new AtomicLong();
    private final AtomicLong pollFailures = new AtomicLong();
    private SharedIndexInformer<ConntrackNodeState> informer;
    private ScheduledExecutorService scheduler;
    private volatile boolean running;
    private volatile boolean paused;

    public SimulatedFleet(KubernetesClient client, Options options) {
        this.client = client;
        this.agentClient = AgentKubeClients.like(client, Duration.ofSeconds(10), Duration.ofSeconds(60));
        this.options = options;
        for (int i = 0; i < options.nodes(); i++) {
            names.add(String.format("%s-%05d", options.prefix(), i));
        }
    }

    public List<String> names() {
        return names;
    }

    /** Creates the Node objects (with CPU capacity in status), in parallel, with {@code admin}'s rights. */
    public void createNodes(KubernetesClient admin, int parallelism) {
        runAll(parallelism, names, name -> {
            Node node = new NodeBuilder().withNewMetadata().withName(name).withLabels(options.labels()).endMetadata()
                    .withNewStatus().addToCapacity("cpu", new Quantity(options.cpu())).endStatus().build();
            admin.nodes().resource(node).create();
        });
    }

    public void deleteNodes(KubernetesClient admin, int parallelism) {
        runAll(parallelism, names, name -> admin.nodes().withName(name).delete());
    }

    /**
     * Makes this node's hash-size writes fail (its hashsize file is a dangling link): Degraded as
     * soon as a spec asks it for other buckets, healthy before. Call before {@link #start()}.
     */
    public void breakBucketWrites(String node) {
        brokenBuckets.add(node);
    }

    /** Builds the fake trees, starts the shared informer and every agent. */
    public void start() {
        running = true;
        informer = client.resources(ConntrackNodeState.class).runnableInformer(0);
        informer.exceptionHandler((started, error) -> true);
        informer.addEventHandler(new ResourceEventHandler<>() {
            @Override
            public void onAdd(ConntrackNodeState state) {
                changed(null, state);
            }

            @Override
            public void onUpdate(ConntrackNodeState old, ConntrackNodeState state) {
                changed(old, state);
            }

            @Override
            public void onDelete(ConntrackNodeState state, boolean unknownFinalState) {
            }
        });
        scheduler = Executors.newScheduledThreadPool(options.threads(), daemonThreads("fleet-agent"));
        Clock clock = Clock.systemUTC();
        runAll(Math.max(2, options.threads()), names, name -> {
            HostPaths paths = fakeHost(name);
            // Without nft (the agents share one machine and must not touch its ruleset).
            AgentConfig config = new AgentConfig(name, paths.root(), options.dir().resolve("state"), 0, 0,
                    options.heartbeat(), false, "fleet-sim", List.of());
            // The agent's poller without the agent's threads: the shared scheduler polls, the
            // shared informer is the spec watch, and neither the kernel log (none in a fake tree)
            // nor the count watcher (auto-raise is off in these policies) is followed. Listings
            // (never asked for here) would run on the scheduler's thread.
            NodePoller agent = new NodePoller(config, paths, new KmsgWatcher(paths, clock), new SharedSpecWatch(informer, name),
                    metrics, new StatusReporter(agentClient, name, clock, options.heartbeat()),
                    new NodeEventRecorder(agentClient, name, clock, Duration.ofMinutes(5)), clock, Runnable::run);
            agents.put(name, agent);
        });
        informer.start().toCompletableFuture().join();
        long spread = Math.max(1, options.minPoll().toMillis());
        for (String name : names) {
            schedule(name, ThreadLocalRandom.current().nextLong(spread));
        }
    }

    /**
     * Stops every agent from polling and reporting (a diagnostic: the operator alone on the API
     * server) until {@link #resumeAgents()}; they catch up at their next poll.
     */
    public void pauseAgents() {
        paused = true;
    }

    public void resumeAgents() {
        paused = false;
        for (Map.Entry<String, NodePoller> e : agents.entrySet()) {
            scheduler.execute(() -> pollAndReport(e.getKey(), e.getValue()));
        }
    }

    /** Called for every add or update of any node state seen by the shared informer. */
    public void onChange(Consumer<ConntrackNodeState> observer) {
        observers.add(observer);
    }

    /** The node states of this fleet, as the shared informer has them now. */
    public List<ConntrackNodeState> states() {
        List<ConntrackNodeState> states = new ArrayList<>(names.size());
        for (String name : names) {
            ConntrackNodeState s = informer.getStore().getByKey(name);
            if (s != null) {
                states.add(s);
            }
        }
        return states;
    }

    /**
     * Nodes whose spec carries this generation of the policy and whose agent has not reported that
     * spec yet (neither Applied nor Degraded for the node state's current generation).
     */
    public int inFlight(String policy, long generation) {
        int n = 0;
        for (ConntrackNodeState s : states()) {
            if (carries(s, policy, generation) && !reportedCurrent(s)) {
                n++;
            }
        }
        return n;
    }

    public int carrying(String policy, long generation) {
        return (int) states().stream().filter(s -> carries(s, policy, generation)).count();
    }

    public int reportedApplied(String policy, long generation) {
        return (int) states().stream().filter(s -> carries(s, policy, generation) && appliedCurrent(s)).count();
    }

    public long polls() {
        return polls.get();
    }

    public long pollFailures() {
        return pollFailures.get();
    }

    public static boolean carries(ConntrackNodeState s, String policy, long generation) {
        Map<String, Long> g = s.getSpec() == null ? null : s.getSpec().getPolicyGenerations();
        return g != null && Long.valueOf(generation).equals(g.get(policy));
    }

    /** The agent reported the node state's current generation, Applied. */
    public static boolean appliedCurrent(ConntrackNodeState s) {
        return reported(s) && Conditions.isTrue(s.getStatus().getConditions(), "Applied");
    }

    private static boolean reportedCurrent(ConntrackNodeState s) {
        return reported(s) && (Conditions.isTrue(s.getStatus().getConditions(), "Applied")
                || Conditions.isTrue(s.getStatus().getConditions(), "Degraded"));
    }

    private static boolean reported(ConntrackNodeState s) {
        return s.getStatus() != null && s.getMetadata().getGeneration() != null
                && s.getMetadata().getGeneration().equals(s.getStatus().getObservedGeneration());
    }

    private void changed(ConntrackNodeState old, ConntrackNodeState state) {
        String name = state.getMetadata().getName();
        NodePoller agent = agents.get(name);
        if (agent != null && (old == null || !java.util.Objects.equals(old.getMetadata().getGeneration(),
                state.getMetadata().getGeneration()))) {
            // What NodeSpecWatch does for a real agent: a new spec wakes the poll at once.
            scheduler.execute(() -> pollAndReport(name, agent));
        }
        for (Consumer<ConntrackNodeState> observer : observers) {
            observer.accept(state);
        }
    }

    private void schedule(String name, long delayMillis) {
        if (!running) {
            return;
        }
        scheduler.schedule(() -> {
            NodePoller agent = agents.get(name);
            Duration next = pollAndReport(name, agent);
            schedule(name, Math.max(next.toMillis(), options.minPoll().toMillis()));
        }, delayMillis, TimeUnit.MILLISECONDS);
    }

    private Duration pollAndReport(String name, NodePoller agent) {
        if (paused) {
            return options.minPoll();
        }
        try {
            Duration next = agent.pollOnce();
            agent.reportOnce();
            polls.incrementAndGet();
            return next;
        } catch (RuntimeException e) {
            pollFailures.incrementAndGet();
            LOG.log(Level.FINE, "simulated agent " + name + " failed a poll", e);
            return Duration.ofSeconds(1);
        }
    }

    /** The fake kernel tree of one simulated node, to read what its agent wrote. */
    public FakeHost host(String name) {
        return FakeHost.empty(options.dir().resolve("hosts").resolve(name));
    }

    /** A kernel with nf_conntrack loaded; buckets reads back what hashsize was given, as on a real host. */
    private HostPaths fakeHost(String name) {
        FakeHost host = FakeHost.withConntrack(options.dir().resolve("hosts").resolve(name));
        HostPaths paths = host.paths();
        FakeHost.write(paths.conntrackStats(), FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt"));
        FakeHost.write(paths.slabinfo(), FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
        FakeHost.write(paths.uptime(), "100.00 150.00\n");
        try {
            Path buckets = ConntrackKey.BUCKETS.readPath(paths);
            if (brokenBuckets.contains(name)) {
                Files.delete(paths.hashsize());
                Files.createSymbolicLink(paths.hashsize(), paths.hashsize().resolveSibling("missing/hashsize"));
            } else {
                Files.delete(buckets);
                Files.createSymbolicLink(buckets, paths.hashsize());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return paths;
    }

    private static void runAll(int parallelism, Collection<String> names, Consumer<String> task) {
        ExecutorService pool = Executors.newFixedThreadPool(parallelism, daemonThreads("fleet-setup"));
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (String name : names) {
                futures.add(pool.submit(() -> task.accept(name)));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    private static java.util.concurrent.ThreadFactory daemonThreads(String prefix) {
        AtomicLong n = new AtomicLong();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    @Override
    public void close() {
        running = false;
        if (scheduler != null) {
            scheduler.shutdownNow();
        }
        if (informer != null) {
            informer.close();
        }
    }
}
