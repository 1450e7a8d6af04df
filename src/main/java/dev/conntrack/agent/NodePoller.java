package dev.conntrack.agent;

import dev.conntrack.agent.core.CountWatch;
import dev.conntrack.agent.core.Enforcer;
import dev.conntrack.agent.core.NodeSample;
import dev.conntrack.agent.core.NotrackEnforcer;
import dev.conntrack.agent.core.PollCycle;
import dev.conntrack.agent.core.PollEvents;
import dev.conntrack.agent.core.PressureRecommendations;
import dev.conntrack.agent.core.SettingsApplier;
import dev.conntrack.agent.core.SnapshotLimiter;
import dev.conntrack.agent.core.TableRoom;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.kernel.CommandRunner;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.ConntrackTableSummarizer;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgWatcher;
import dev.conntrack.kernel.MemInfo;
import dev.conntrack.kernel.NftablesNotrack;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.ReadResult;
import dev.conntrack.kernel.SysctlFiles;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * One agent's poll and report, without threads of its own (the {@link NodeAgent} runs them; a
 * fleet simulation drives many pollers from one scheduler). A poll samples the node, lets the
 * {@link PollCycle} decide, has the one {@link Enforcer} write, and hands the status to the
 * reporting side and the Events and metrics to theirs. It never waits on the API server.
 */
public final class NodePoller {
    private static final Logger LOG = Logger.getLogger(NodePoller.class.getName());
    /** Annotation on the node state that asks for a table listing now (any new value). */
    static final String EXPLAIN_ANNOTATION = "conntrack.dev/explain";

    /** What the threads around a poll need from it: when to poll next, and what the count watcher should look for. */
    public record Next(Duration interval, CountWatch watch, Path hotStats) {
    }

    private final NodeSpecSource spec;
    private final AgentMetrics metrics;
    private final StatusReporter reporter;
    private final NodeEventRecorder events;
    private final Clock clock;
    private final HostPaths paths;
    private final OriginalsStore originals;
    private final SysctlFiles kernel;
    private final Enforcer enforcer;
    private final NodeSampler sampler;
    private final PollCycle cycle;
    private final PollEvents announcements = new PollEvents();
    private final PressureExplainer explainer;
    private final BlockingQueue<PollEvents.Event> outbox = new ArrayBlockingQueue<>(256);
    private final BlockingQueue<Boolean> eventQueued = new ArrayBlockingQueue<>(1);
    private final AtomicReference<ConntrackNodeStateStatus> newest = new AtomicReference<>();
    private final TableRoom room = new TableRoom();
    private String explainAsked;
    /** What of the originals file could not be read at start, or null: shown as Degraded until the agent restarts. */
    private final String originalsDamage;

    public NodePoller(AgentConfig config, HostPaths paths, KmsgWatcher kmsg, NodeSpecSource spec, AgentMetrics metrics,
            StatusReporter reporter, NodeEventRecorder events, Clock clock, Executor explainWorker) {
        this.spec = spec;
        this.metrics = metrics;
        this.reporter = reporter;
        this.events = events;
        this.clock = clock;
        this.paths = paths;
        this.originals = OriginalsStore.open(config.originalsFile(), bootId(paths));
        for (String problem : originals.loadProblems()) {
            LOG.warning("originals file " + originals.file() + ": " + problem);
        }
        this.originalsDamage = originals.loadProblems().isEmpty() ? null : "originals file damaged (a copy is kept as "
                + originals.file().getFileName() + ".corrupt): " + String.join("; ", originals.loadProblems());
        this.kernel = new SysctlFiles(paths);
        this.enforcer = new Enforcer(new SettingsApplier(kernel, originals), new NotrackEnforcer(config.nftCommand().isEmpty()
                ? null : new NftablesNotrack(CommandRunner.processes(), config.nftCommand()), System::nanoTime));
        this.sampler = new NodeSampler(paths, kmsg);
        this.cycle = new PollCycle(new PollCycle.Config(config.forceObserveOnly(), config.version()));
        this.explainer = new PressureExplainer(new ConntrackTableSummarizer(paths, CommandRunner.processes(),
                ConntrackTableSummarizer.Limits.DEFAULT), new SnapshotLimiter(), clock, explainWorker);
    }

    /** This boot's id, or null when it cannot be read (originals of any boot are then kept). */
    private static String bootId(HostPaths paths) {
        try {
            return new dev.conntrack.kernel.ProcReader(64).readTrimmed(paths.bootId());
        } catch (java.io.IOException e) {
            LOG.warning("cannot read " + paths.bootId() + " (" + e.getMessage() + "): originals are kept across reboots");
            return null;
        }
    }

    /** A poll without a count watcher (no growth measure, no rescans asked for). */
    public Duration pollOnce() {
        return pollOnce(false, 0).interval();
    }

    /**
     * One poll: sample, decide, enforce, evaluate, announce. RESCAN asks for a namespace scan now;
     * GROWTH is the count watcher's newest measure of the table's growth (entries per second).
     */
    public synchronized Next pollOnce(boolean rescan, double growthPerSecond) {
        Optional<ConntrackNodeState> state = spec.current();
        ConntrackNodeStateSpec desired = state.map(ConntrackNodeState::getSpec).orElse(null);
        Long generation = state.map(s -> s.getMetadata().getGeneration()).orElse(null);
        NodeSample sample = sampler.read(rescan, growthPerSecond);
        retryApiIfRoomRegained(sample);
        Enforcer.Intent intent = cycle.decide(desired, sample, originals.originalOf(ConntrackKey.MAX).isPresent());
        Enforcer.Result done = enforcer.enforce(intent);
        if (done.settings().mayHaveWritten()) {
            sample = sampler.reread(sample);
        }
        PollCycle.Outcome outcome = cycle.evaluate(desired, generation, sample, done, explainer.latest(),
                spec.refused().orElse(null), originalsDamage, clock.instant());
        for (PollEvents.Event event : announcements.of(outcome, done, sample)) {
            queue(event);
        }
        if (announcements.notrackFailureStarted() != null) {
            LOG.warning(announcements.notrackFailureStarted());
        }
        outcome.raised().ifPresent(m -> LOG.info("auto-raise: " + m));
        metrics.publish(sample, done, outcome.raised().isPresent(), announcements.notrackFailureStarted(),
                clock.instant().getEpochSecond(), sample.objectSize());
        explainIfAsked(state.orElse(null), outcome, sample);
        newest.set(outcome.status());
        return new Next(outcome.next(), outcome.watch(), sampler.hotStatsFile());
    }

    /**
     * The table was full and has room again: the status, the Events and the spec watch try the API
     * server now instead of after their backoffs (see {@link TableRoom}).
     */
    private void retryApiIfRoomRegained(NodeSample sample) {
        if (room.regained(sample.count(), sample.max())) {
            LOG.info("conntrack table has room again (" + sample.count() + " of " + sample.max()
                    + "): retrying the API server now");
            reporter.retryNow();
            events.retryNow();
            spec.retryNow();
        }
    }

    /** A table listing on pressure (rate limited) or when the node state's annotation asks for one. */
    private void explainIfAsked(ConntrackNodeState state, PollCycle.Outcome outcome, NodeSample sample) {
        String asked = state == null || state.getMetadata().getAnnotations() == null ? null
                : state.getMetadata().getAnnotations().get(EXPLAIN_ANNOTATION);
        if (asked != null && !asked.equals(explainAsked)) {
            explainer.requestManual();
        }
        explainAsked = asked;
        NamespaceWatch.Target target = sampler.explainTarget();
        explainer.maybeExplain(outcome.pressure(), target.pid(), target.name(), () -> PressureRecommendations.Context.of(
                sample.poll(), outcome.rate(), sample.objectSize(), liveTimeWait(), MemInfo.memAvailable(paths)),
                explanation -> {
                    String advice = explanation.getRecommendations() == null ? "no advice"
                            : String.join("; ", explanation.getRecommendations());
                    queue(new PollEvents.Event(false, PollEvents.EXPLAINED, explanation.getEntries() + " entries listed in "
                            + explanation.getNamespace() + ": " + advice));
                });
    }

    /**
     * The kernel's TIME_WAIT timeout now, read when a listing runs, whether or not a policy manages
     * it (a timeout nobody set still has a value: the kernel's). The agent's own namespace's value:
     * a sysctl of another network namespace cannot be read from outside it.
     */
    private Optional<Duration> liveTimeWait() {
        ReadResult live = kernel.read(ConntrackKey.TCP_TIME_WAIT);
        try {
            return live.ok() ? Optional.of(Duration.ofSeconds(Long.parseLong(live.value()))) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes the newest status when it changed or a heartbeat is due, then sends the queued
     * Events. The status first: a transition queues its Event, and the condition it announces must
     * not wait behind the Event's API calls.
     */
    public void reportOnce() {
        reportOnce(true);
    }

    /** {@link #reportOnce()}, saying whether the poll still completes (no heartbeat for a stale one). */
    void reportOnce(boolean pollFresh) {
        ConntrackNodeStateStatus status = newest.get();
        if (status != null && reporter.offer(status, pollFresh)) {
            metrics.statusWritten();
        }
        events.sendHeld();
        for (PollEvents.Event e = outbox.poll(); e != null; e = outbox.poll()) {
            send(e);
        }
    }

    /** Waits up to MILLIS for an Event to be queued (a poll found something to announce). */
    void awaitEvent(long millis) throws InterruptedException {
        eventQueued.poll(millis, TimeUnit.MILLISECONDS);
    }

    private void send(PollEvents.Event e) {
        if (e.warning()) {
            events.warning(e.reason(), e.message());
        } else {
            events.normal(e.reason(), e.message());
        }
    }

    private void queue(PollEvents.Event event) {
        if (!outbox.offer(event)) {
            LOG.fine("event queue full (API server unreachable?); dropping an event");
        }
        eventQueued.offer(Boolean.TRUE);
    }
}
