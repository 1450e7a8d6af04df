package dev.conntrack.agent;

import dev.conntrack.agent.core.ApplyReport;
import dev.conntrack.agent.core.AutoRaisePlanner;
import dev.conntrack.agent.core.DropRate;
import dev.conntrack.agent.core.DropWindow;
import dev.conntrack.agent.core.KeyOutcome;
import dev.conntrack.agent.core.KeyResult;
import dev.conntrack.agent.core.NodeConditions;
import dev.conntrack.agent.core.NotrackEnforcer;
import dev.conntrack.agent.core.PollPacing;
import dev.conntrack.agent.core.PollSample;
import dev.conntrack.agent.core.PressureRecommendations;
import dev.conntrack.agent.core.SnapshotLimiter;
import dev.conntrack.agent.core.SettingsApplier;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.Mode;
import dev.conntrack.api.TableUsage;
import dev.conntrack.kernel.CommandRunner;
import dev.conntrack.kernel.ConntrackTableSummarizer;
import dev.conntrack.kernel.MemInfo;
import dev.conntrack.kernel.NftablesNotrack;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsReader;
import dev.conntrack.kernel.Durations;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.KmsgSnapshot;
import dev.conntrack.kernel.KmsgWatcher;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.SlabInfo;
import dev.conntrack.kernel.StatsReading;
import dev.conntrack.kernel.SysctlFiles;
import dev.conntrack.kernel.TableMemory;
import dev.conntrack.kernel.TableReader;
import dev.conntrack.kernel.TableSnapshot;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The agent's work on one node. The poll thread reads the table and counters, enforces the spec
 * and computes the status without ever waiting on the API server; a reporting thread writes the
 * newest status and the Events, so a slow or absent API server never delays enforcement.
 */
public class NodeAgent implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeAgent.class.getName());
    static final Duration DEFAULT_POLL = Duration.ofSeconds(1);
    static final int DEFAULT_WARNING_PERCENT = 80;
    private static final Duration EVENT_WINDOW = Duration.ofMinutes(5);

    private final AgentConfig config;
    private final Clock clock;
    private final SettingsApplier applier;
    private final OriginalsStore originals;
    private final TableReader tables;
    private final ConntrackStatsReader stats;
    private final KmsgWatcher kmsg;
    private final OptionalInt objectSize;
    private final AgentMetrics metrics;
    private final NodeSpecWatch spec;
    private final StatusReporter reporter;
    private final NodeEventRecorder events;
    private final BlockingQueue<Boolean> wake = new ArrayBlockingQueue<>(1);
    private final BlockingQueue<Runnable> outbox = new ArrayBlockingQueue<>(256);
    private final AtomicReference<ConntrackNodeStateStatus> newest = new AtomicReference<>();
    private final AutoRaiser autoRaiser;
    private final TableCountWatcher countWatcher;
    private final NotrackEnforcer notrack;
    private boolean notrackFailing;
    /** Serializes writes to the kernel's settings: the poll's enforcement and the watcher's raises. */
    private final Object kernelWrites = new Object();
    /** Whether auto-raise was on at the last poll: the count watcher is woken when it turns on. */
    private boolean countWatchArmed;
    private volatile long knownMax;
    private volatile long knownBuckets;
    private volatile Mode effectiveMode = Mode.ObserveOnly;
    private volatile DriftPolicy effectiveDrift = DriftPolicy.Reapply;
    private final HostPaths paths;
    private final NamespaceWatch namespaces;
    private final PressureExplainer explainer;
    private String explainAsked;
    /** Annotation on the node state that asks for a table listing now (any new value). */
    static final String EXPLAIN_ANNOTATION = "conntrack.dev/explain";

    private volatile boolean running = true;
    private Thread pollThread;
    private Thread reportThread;
    private PollSample previous;
    private final DropWindow dropWindow = new DropWindow();
    private List<Condition> conditions = List.of();
    private Instant lastTableFull;
    private String pollIntervalText;
    private Duration pollIntervalParsed;

    public NodeAgent(AgentConfig config, HostPaths paths, AgentMetrics metrics, NodeSpecWatch spec,
            StatusReporter reporter, NodeEventRecorder events, Clock clock) {
        this.config = config;
        this.clock = clock;
        this.metrics = metrics;
        this.spec = spec;
        this.reporter = reporter;
        this.events = events;
        this.originals = OriginalsStore.open(config.originalsFile());
        this.applier = new SettingsApplier(new SysctlFiles(paths), originals);
        this.tables = new TableReader(paths);
        this.stats = new ConntrackStatsReader(paths, CommandRunner.processes());
        this.kmsg = new KmsgWatcher(paths, clock);
        this.objectSize = SlabInfo.conntrackObjectSize(paths);
        this.paths = paths;
        this.namespaces = new NamespaceWatch(paths, stats);
        this.explainer = new PressureExplainer(new ConntrackTableSummarizer(paths, CommandRunner.processes(),
                ConntrackTableSummarizer.Limits.DEFAULT), new SnapshotLimiter(), clock);
        this.autoRaiser = new AutoRaiser(applier, clock);
        this.notrack = new NotrackEnforcer(config.nftCommand().isEmpty() ? null
                : new NftablesNotrack(CommandRunner.processes(), config.nftCommand()), System::nanoTime);
        this.countWatcher = new TableCountWatcher(paths.conntrackCount(), paths.conntrackSlabObjects(), () -> knownMax, () -> {
            var autoscale = autoRaiser.spec();
            return autoscale == null ? 0 : AutoRaisePlanner.watermark(autoscale);
        }, this::countSeen, total -> rescanNamespaces());
        for (String problem : originals.loadProblems()) {
            LOG.warning("originals file " + originals.file() + ": " + problem);
        }
    }

    public void start() {
        startSignals();
        pollThread = daemon("conntrack-poll", this::pollLoop);
        reportThread = daemon("conntrack-report", this::reportLoop);
    }

    /**
     * Starts only the watchers (spec, kernel log), for a driver that calls {@link #pollOnce()} and
     * {@link #reportOnce()} itself, e.g. a fleet simulation running many agents on one scheduler.
     */
    public void startSignals() {
        startSignals(true);
    }

    /**
     * @param countWatch false leaves out the fast count watcher (auto-raise between polls): its
     *                   thread wakes every 200 ms even while auto-raise is off, which a node pays
     *                   on its own cores but thousands of simulated agents in one JVM pay on the
     *                   benchmark's, crowding out the API server being measured
     */
    public void startSignals(boolean countWatch) {
        // A "table full" kernel line wakes the poll at once: TableFull is then reported within a
        // status write instead of up to a poll interval later.
        kmsg.onTableFull(this::wake);
        kmsg.start();
        spec.start();
        if (countWatch) {
            countWatcher.start();
        }
    }

    /**
     * From the fast watcher: raise at once when usage crosses the watermark between polls, or is
     * about to at the growth rate seen.
     */
    private void countSeen(long count, double growthPerSecond) {
        var autoscale = autoRaiser.spec();
        if (autoscale != null && AutoRaisePlanner.dueToRaise(autoscale, count, knownMax, growthPerSecond)) {
            raiseNow(count, growthPerSecond, false);
        }
    }

    /** Another namespace fills while none we watch does: find it now (rate limited) and watch it. */
    private synchronized void rescanNamespaces() {
        if (namespaces.rescanIfDue(System.nanoTime())) {
            countWatcher.watchNamespace(namespaces.hotStatsFile());
        }
    }

    /**
     * Not under the poll's monitor: a poll (namespace scan, stats, status) must not hold a raise
     * back while a storm fills the table; kernel writes alone are serialized, with the poll's
     * enforcement.
     */
    private void raiseNow(long count, double growthPerSecond, boolean dropping) {
        synchronized (kernelWrites) {
            raiseLocked(count, growthPerSecond, dropping);
        }
    }

    private void raiseLocked(long count, double growthPerSecond, boolean dropping) {
        long before = knownMax;
        autoRaiser.raiseIfNeeded(count, growthPerSecond, knownMax, knownBuckets, dropping, objectSizeOrDefault(),
                        effectiveMode, effectiveDrift)
                .ifPresent(decision -> {
                    knownMax = decision.newMax();
                    knownBuckets = decision.newBuckets();
                    metrics.autoRaised();
                    LOG.info("auto-raise: " + decision.message());
                    String message = decision.message() + " (" + count + " entries, max was " + before + ")";
                    queue(() -> events.normal(NodeEventRecorder.AUTO_RAISED, message));
                });
    }

    private long objectSizeOrDefault() {
        return objectSize.isPresent() ? objectSize.getAsInt() : TableMemory.DEFAULT_OBJECT_SIZE;
    }

    /** Wakes the poll loop now, e.g. when the spec changed. */
    public void wake() {
        wake.offer(Boolean.TRUE);
    }

    private void pollLoop() {
        while (running) {
            long started = System.nanoTime();
            Duration interval = DEFAULT_POLL;
            try {
                interval = pollOnce();
            } catch (RuntimeException e) {
                // One bad poll (an unexpected kernel format, say) must not end enforcement.
                LOG.log(Level.WARNING, "poll failed", e);
            }
            metrics.pollTook(System.nanoTime() - started);
            long waitNanos = interval.toNanos() - (System.nanoTime() - started);
            try {
                wake.poll(Math.max(waitNanos, 0), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** One poll: enforce, read, evaluate, publish. Returns the interval until the next one. */
    public synchronized Duration pollOnce() {
        Optional<ConntrackNodeState> state = spec.current();
        ConntrackNodeStateSpec desired = state.map(ConntrackNodeState::getSpec).orElse(null);
        Long generation = state.map(s -> s.getMetadata().getGeneration()).orElse(null);
        TableSnapshot before = tables.read();
        ApplyReport report = enforce(desired, before);
        // Spec unknown: leave the notrack table as it is, like every other setting.
        NotrackEnforcer.Outcome notrackOutcome = desired == null ? NotrackEnforcer.Outcome.NONE
                : notrack.reconcile(desired.getConntrack() == null ? null : desired.getConntrack().getNotrack(),
                        effectiveMode, effectiveDrift);

        if (namespaces.poll(System.nanoTime())) {
            countWatcher.watchNamespace(namespaces.hotStatsFile());
        }
        // Usage is the busiest table's: a pod's or a NAT namespace's fills under the same global max.
        // The table is read again only when enforcement wrote (or may have written, a failed
        // verify) to the kernel: max or buckets may have changed. Otherwise the read of a moment
        // ago is as fresh, and reading three files costs a good part of a poll while the poll
        // still runs interpreted.
        TableSnapshot table = namespaces.busiest(report.mayHaveWritten() ? tables.read() : before);
        table.max().ifPresent(m -> knownMax = m);
        table.buckets().ifPresent(b -> knownBuckets = b);
        StatsReading reading = stats.read();
        KmsgSnapshot log = kmsg.snapshot();
        PollSample sample = new PollSample(System.nanoTime(), reading.stats(), table,
                OptionalLong.of(log.tableFullIncludingSuppressed()));
        DropRate initialRate = previous == null ? DropRate.UNKNOWN : DropRate.between(previous, sample);
        previous = sample;
        // Drops anywhere on the node (pods, NAT namespaces) count, not only the node's own table.
        DropRate newestRate = namespaces.nodeWide(initialRate);
        Instant now = clock.instant();
        if (newestRate.tableFull()) {
            lastTableFull = now;
            // Drops are the other trigger of auto-raise (the fast watcher only sees usage).
            raiseNow(table.count().orElse(0), 0, true);
        }
        log.lastTableFull().ifPresent(t -> {
            if (lastTableFull == null || t.isAfter(lastTableFull)) {
                lastTableFull = t;
            }
        });

        // Conditions judge the configured interval, however fast the poll runs under pressure.
        Duration configuredInterval = configuredPollInterval(desired);
        DropRate rate = dropWindow.forConditions(newestRate, sample.monotonicNanos(), configuredInterval);
        int warning = warningPercent(desired);
        List<Condition> fresh = NodeConditions.evaluate(report, sample.usagePercent(), rate, warning, generation);
        if (config.forceObserveOnly() && desired != null && desired.getMode() != Mode.ObserveOnly) {
            fresh = NodeConditions.cappedToObserveOnly(fresh, report, generation);
        }
        fresh = NodeConditions.withNotrack(fresh, notrackOutcome,
                config.forceObserveOnly() && desired != null && desired.getMode() != Mode.ObserveOnly, generation);
        fresh = withAutoRaiseLimit(fresh, sample, generation);
        fresh = namespaces.nameTheDroppingNamespace(fresh, generation);
        List<Condition> merged = Conditions.merge(conditions, fresh, now);
        announceTransitions(conditions, merged, report, sample, rate);
        announceKeyResults(report);
        announceNotrack(notrackOutcome);
        conditions = merged;

        explainIfAsked(state.orElse(null), merged, sample, rate, report);
        ConntrackNodeStateStatus status = status(generation, merged, report, table, reading, sample, rate, log);
        status.setNotrack(notrackOutcome.status());
        newest.set(status);
        publishMetrics(report, table, reading.stats(), log);
        return PollPacing.next(configuredInterval, sample.usagePercent(), warning, rate.tableFull());
    }

    private ApplyReport enforce(ConntrackNodeStateSpec desired, TableSnapshot live) {
        if (desired == null) {
            // Spec unknown (API server not reached yet, or no state yet): observe and restore nothing.
            effectiveMode = Mode.ObserveOnly;
            synchronized (kernelWrites) {
                return applier.reconcile(null, Mode.ObserveOnly, DriftPolicy.Report);
            }
        }
        Mode mode = config.forceObserveOnly() ? Mode.ObserveOnly
                : desired.getMode() == null ? Mode.Enforce : desired.getMode();
        DriftPolicy drift = desired.getDriftPolicy() == null ? DriftPolicy.Reapply : desired.getDriftPolicy();
        effectiveMode = mode;
        effectiveDrift = drift;
        synchronized (kernelWrites) {
            ConntrackSettings settings = autoRaiser.effective(desired.getConntrack(),
                    originals.originalOf(ConntrackKey.MAX).isPresent(), live.max().orElse(0));
            boolean armed = autoRaiser.spec() != null;
            if (armed && !countWatchArmed) {
                countWatcher.arm();
            }
            countWatchArmed = armed;
            return applier.reconcile(settings, mode, drift);
        }
    }

    /** A table listing on pressure (rate limited) or when the node state's annotation asks for one. */
    private void explainIfAsked(ConntrackNodeState state, List<Condition> conditions, PollSample sample, DropRate rate,
            ApplyReport report) {
        String asked = state == null || state.getMetadata().getAnnotations() == null ? null
                : state.getMetadata().getAnnotations().get(EXPLAIN_ANNOTATION);
        if (asked != null && !asked.equals(explainAsked)) {
            explainer.requestManual();
        }
        explainAsked = asked;
        boolean pressure = Conditions.isTrue(conditions, NodeConditions.PRESSURE) || Conditions.isTrue(conditions, NodeConditions.TABLE_FULL);
        NamespaceWatch.Target target = namespaces.explainTarget();
        explainer.maybeExplain(pressure, target.pid(), target.name(), () -> {
            Optional<java.time.Duration> timeWait = Optional.ofNullable(report.current().get("tcpTimeWait"))
                    .map(v -> java.time.Duration.ofSeconds(Long.parseLong(v)));
            return PressureRecommendations.Context.of(sample, rate, objectSize, timeWait, MemInfo.memAvailable(paths));
        }, explanation -> {
            String advice = explanation.getRecommendations() == null ? "no advice" : String.join("; ", explanation.getRecommendations());
            queue(() -> events.normal(NodeEventRecorder.EXPLAINED, explanation.getEntries() + " entries listed in "
                    + explanation.getNamespace() + ": " + advice));
        });
    }

    /** Pressure names the bound when auto-raise can go no further and usage is above the warning. */
    private List<Condition> withAutoRaiseLimit(List<Condition> fresh, PollSample sample, Long generation) {
        AutoRaisePlanner.Limit limit = autoRaiser.limitedBy();
        if (limit == AutoRaisePlanner.Limit.None || !Conditions.isTrue(fresh, NodeConditions.PRESSURE)) {
            return fresh;
        }
        String reason = limit == AutoRaisePlanner.Limit.Ceiling ? "CeilingReached" : "MemoryBudgetReached";
        var status = autoRaiser.status();
        String message = "auto-raise stopped: " + (status == null ? reason : status.getMessage());
        return fresh.stream()
                .map(c -> NodeConditions.PRESSURE.equals(c.getType())
                        ? Conditions.of(NodeConditions.PRESSURE, true, reason, message, generation) : c)
                .toList();
    }

    private ConntrackNodeStateStatus status(Long generation, List<Condition> merged, ApplyReport report,
            TableSnapshot table, StatsReading reading, PollSample sample, DropRate rate, KmsgSnapshot log) {
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setObservedGeneration(generation);
        status.setConditions(merged);
        TableUsage usage = new TableUsage();
        table.count().ifPresent(usage::setEntries);
        table.max().ifPresent(usage::setMax);
        table.buckets().ifPresent(usage::setBuckets);
        sample.usagePercent().ifPresent(p -> usage.setUsagePercent(Math.round(p * 10) / 10.0));
        if (table.max().isPresent() && table.buckets().isPresent()) {
            usage.setEstimatedMemoryBytes(TableMemory.estimate(table.max().getAsLong(), table.buckets().getAsLong(), objectSize));
        }
        status.setUsage(usage);
        DropCounters counters = new DropCounters();
        reading.stats().ifPresent(s -> {
            s.drop().ifPresent(counters::setDrop);
            s.earlyDrop().ifPresent(counters::setEarlyDrop);
            s.insertFailed().ifPresent(counters::setInsertFailed);
            s.invalid().ifPresent(counters::setInvalid);
        });
        counters.setTableFullLogLines(log.tableFullIncludingSuppressed());
        namespaces.dropsAllNamespaces(counters.getDrop()).ifPresent(counters::setDropAllNamespaces);
        status.setNamespaces(namespaces.summaries());
        rate.dropsPerSecond().ifPresent(r -> counters.setDropsPerSecond(Math.round(r * 10) / 10.0));
        status.setCounters(counters);
        status.setCurrent(report.current().isEmpty() ? null : report.current());
        status.setOriginals(report.originals().isEmpty() ? null : report.originals());
        status.setPending(report.pending().isEmpty() ? null : report.pending());
        List<String> unavailable = new ArrayList<>(table.unavailable());
        unavailable.addAll(reading.unavailable());
        kmsg.unavailable().ifPresent(unavailable::add);
        status.setUnavailableSignals(unavailable.isEmpty() ? null : unavailable);
        status.setLastTableFullTime(lastTableFull == null ? null : lastTableFull.truncatedTo(ChronoUnit.SECONDS).toString());
        status.setAutoRaise(autoRaiser.status());
        status.setExplanation(explainer.latest());
        status.setAgentVersion(config.version());
        return status;
    }

    private void announceTransitions(List<Condition> before, List<Condition> after, ApplyReport report,
            PollSample sample, DropRate rate) {
        if (flippedToTrue(before, after, NodeConditions.TABLE_FULL)) {
            String message = "conntrack table full, dropping packets: " + rate.dropsDelta().orElse(0)
                    + " drops in the last " + rate.interval().toMillis() + " ms" + tableText(sample)
                    + namespaces.droppingText();
            queue(() -> events.warning(NodeEventRecorder.TABLE_FULL, message));
        }
        if (flippedToTrue(before, after, NodeConditions.PRESSURE)) {
            String message = "conntrack table usage above the warning level" + tableText(sample);
            queue(() -> events.warning(NodeEventRecorder.PRESSURE, message));
        }
        if (report.degraded() && flippedToTrue(before, after, NodeConditions.DEGRADED)) {
            String message = report.degradedMessage();
            queue(() -> events.warning(NodeEventRecorder.APPLY_FAILED, message));
        }
    }

    private void announceNotrack(NotrackEnforcer.Outcome outcome) {
        metrics.notrackRules(outcome.installedRules());
        if (outcome.installed() != null) {
            String message = outcome.installed();
            metrics.applied(clock.instant().getEpochSecond());
            queue(() -> events.normal(NodeEventRecorder.NOTRACK_INSTALLED, message));
        }
        if (outcome.removed() != null) {
            String message = outcome.removed();
            queue(() -> events.normal(NodeEventRecorder.NOTRACK_REMOVED, message));
        }
        if (outcome.override() != null) {
            String message = outcome.override();
            queue(() -> events.warning(NodeEventRecorder.EXTERNAL_OVERRIDE, message));
        }
        if (outcome.failed() && !notrackFailing) {
            String message = "notrack rules not installed: " + outcome.failure();
            LOG.warning(message);
            metrics.applyError("notrack", "NftFailed");
            queue(() -> events.warning(NodeEventRecorder.APPLY_FAILED, message));
        }
        notrackFailing = outcome.failed();
    }

    private void announceKeyResults(ApplyReport report) {
        List<String> applied = new ArrayList<>();
        List<String> restored = new ArrayList<>();
        for (KeyResult r : report.results()) {
            if (r.outcome() == KeyOutcome.Applied) {
                applied.add(r.fieldName() + "=" + r.after() + " (was " + r.before() + ")");
                metrics.applied(clock.instant().getEpochSecond());
            } else if (r.outcome() == KeyOutcome.Restored) {
                restored.add(r.fieldName() + "=" + r.after() + " (was " + r.before() + ")");
                metrics.applied(clock.instant().getEpochSecond());
            } else if (r.outcome().isFailure()) {
                metrics.applyError(r.fieldName(), r.failure() == null ? "Unknown" : r.failure().reason().name());
            }
            if (r.override() != null) {
                String message = r.override().toString();
                queue(() -> events.warning(NodeEventRecorder.EXTERNAL_OVERRIDE, message));
            }
        }
        if (!applied.isEmpty()) {
            String message = "applied " + String.join(", ", applied);
            queue(() -> events.normal(NodeEventRecorder.APPLIED, message));
        }
        if (!restored.isEmpty()) {
            String message = "restored original " + String.join(", ", restored);
            queue(() -> events.normal(NodeEventRecorder.RESTORED, message));
        }
    }

    private void publishMetrics(ApplyReport report, TableSnapshot table, Optional<ConntrackStats> counters, KmsgSnapshot log) {
        Long max = boxed(table.max());
        Long buckets = boxed(table.buckets());
        metrics.update(new AgentMetrics.Sample(boxed(table.count()), max, buckets,
                max != null && buckets != null ? TableMemory.estimate(max, buckets, objectSize) : null,
                counters.flatMap(s -> opt(s.drop())).orElse(null),
                counters.flatMap(s -> opt(s.earlyDrop())).orElse(null),
                counters.flatMap(s -> opt(s.insertFailed())).orElse(null),
                counters.flatMap(s -> opt(s.invalid())).orElse(null),
                log.tableFullIncludingSuppressed()));
        metrics.settings(report.current());
    }

    private void reportLoop() {
        while (running) {
            try {
                Runnable event = outbox.poll(200, TimeUnit.MILLISECONDS);
                // The status first: a transition queues its Event, and the condition it announces
                // must not wait behind the Event's API calls.
                reportOnce();
                if (event != null) {
                    event.run();
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "reporting failed; retrying", e);
            }
        }
    }

    /** Sends the queued Events and writes the newest status when it changed or a heartbeat is due. */
    public void reportOnce() {
        for (Runnable event = outbox.poll(); event != null; event = outbox.poll()) {
            event.run();
        }
        ConntrackNodeStateStatus status = newest.get();
        if (status != null && reporter.offer(status)) {
            metrics.statusWritten();
        }
    }

    private void queue(Runnable event) {
        if (!outbox.offer(event)) {
            LOG.fine("event queue full (API server unreachable?); dropping an event");
        }
    }

    /** The spec's poll interval, parsed again only when its text changes (exact decimal parsing is not free). */
    private Duration configuredPollInterval(ConntrackNodeStateSpec spec) {
        String text = spec == null || spec.getMonitoring() == null ? null : spec.getMonitoring().getPollInterval();
        if (pollIntervalParsed == null || !Objects.equals(text, pollIntervalText)) {
            pollIntervalParsed = pollInterval(text);
            pollIntervalText = text;
        }
        return pollIntervalParsed;
    }

    /** The spec's pollInterval text as a duration; the default when it is absent or unreadable. */
    static Duration pollInterval(String text) {
        if (text == null) {
            return DEFAULT_POLL;
        }
        try {
            return Durations.parse(text);
        } catch (IllegalArgumentException e) {
            return DEFAULT_POLL;
        }
    }

    static int warningPercent(ConntrackNodeStateSpec spec) {
        Integer percent = spec == null || spec.getMonitoring() == null ? null : spec.getMonitoring().getUsageWarningPercent();
        return percent == null ? DEFAULT_WARNING_PERCENT : percent;
    }

    private static boolean flippedToTrue(List<Condition> before, List<Condition> after, String type) {
        return !Conditions.isTrue(before, type) && Conditions.isTrue(after, type);
    }

    private static String tableText(PollSample sample) {
        TableSnapshot t = sample.table();
        return t.count().isPresent() && t.max().isPresent()
                ? " (" + t.count().getAsLong() + " of " + t.max().getAsLong() + " entries)" : "";
    }

    private static Long boxed(OptionalLong value) {
        return value.isPresent() ? value.getAsLong() : null;
    }

    private static Optional<Long> opt(OptionalLong value) {
        return value.isPresent() ? Optional.of(value.getAsLong()) : Optional.empty();
    }

    private static Thread daemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    @Override
    public void close() {
        running = false;
        if (pollThread != null) {
            pollThread.interrupt();
        }
        if (reportThread != null) {
            reportThread.interrupt();
        }
        countWatcher.close();
        explainer.close();
        kmsg.close();
        spec.close();
    }
}
