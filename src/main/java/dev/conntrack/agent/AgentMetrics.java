package dev.conntrack.agent;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Summary;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import dev.conntrack.agent.core.Enforcer;
import dev.conntrack.agent.core.KeyOutcome;
import dev.conntrack.agent.core.KeyResult;
import dev.conntrack.agent.core.NodeSample;
import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.TableMemory;
import dev.conntrack.kernel.TableSnapshot;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * The agent's Prometheus metrics. Prefix {@code conntrack_} (never node_exporter's
 * {@code node_nf_conntrack_*}). Kernel counters are cumulative since boot, so they are exposed as
 * counters read from the newest poll rather than re-counted here.
 *
 * <p>No exemplars: the agent has no traces to link to, and the client's exemplar samplers start a
 * scheduler thread and look for OpenTelemetry on the class path at start-up (a thread and about 30
 * classes on every node for nothing).
 */
public class AgentMetrics {
    /** What one poll saw; null fields are signals the node does not provide. */
    public record Sample(Long entries, Long max, Long buckets, Long memoryBytes,
                         Long drop, Long earlyDrop, Long insertFailed, Long invalid, long tableFullLogLines) {
        static final Sample EMPTY = new Sample(null, null, null, null, null, null, null, null, 0);
    }

    private final PrometheusRegistry registry;
    private volatile Sample sample = Sample.EMPTY;
    private final Gauge settingValue;
    private final Counter applyErrors;
    private final Gauge lastApply;
    private final Counter statusWrites;
    private final Summary pollSeconds;
    private final Counter autoRaises;
    private final Gauge notrackRules;
    private volatile Map<String, String> lastSettings = Map.of();

    public AgentMetrics(PrometheusRegistry registry) {
        this.registry = registry;
        gauge("conntrack_table_entries", "Entries in the busiest conntrack table of the node (nf_conntrack_count, or a fuller pod or NAT namespace table).", s -> s.entries());
        gauge("conntrack_table_limit", "Maximum entries of the conntrack table (nf_conntrack_max).", s -> s.max());
        gauge("conntrack_table_buckets", "Hash buckets of the conntrack table (nf_conntrack_buckets).", s -> s.buckets());
        gauge("conntrack_table_memory_estimate_bytes",
                "Upper bound of the table's kernel memory: max x object size + buckets x 16.", s -> s.memoryBytes());
        GaugeWithCallback.builder().name("conntrack_table_usage_ratio")
                .help("entries / limit, 0 to 1.")
                .callback(cb -> {
                    Sample s = sample;
                    if (s.entries() != null && s.max() != null && s.max() > 0) {
                        cb.call((double) s.entries() / s.max());
                    }
                }).register(registry);
        counter("conntrack_drop_total", "Packets dropped because the table was full (summed across CPUs).", s -> s.drop());
        counter("conntrack_early_drop_total", "Entries evicted early to make room.", s -> s.earlyDrop());
        counter("conntrack_insert_failed_total", "Failed insertions (e.g. UDP DNS races).", s -> s.insertFailed());
        counter("conntrack_invalid_total", "Packets conntrack could not track.", s -> s.invalid());
        counter("conntrack_table_full_log_lines_total",
                "'table full, dropping packet' kernel log lines seen by the agent, including rate-limited ones.",
                s -> s.tableFullLogLines());
        settingValue = Gauge.builder().name("conntrack_setting_value")
                .help("Live kernel value of each managed setting (timeouts in seconds, booleans 0/1).")
                .labelNames("setting").withoutExemplars().register(registry);
        applyErrors = Counter.builder().name("conntrack_apply_errors_total")
                .help("Kernel writes refused, by setting and reason.").labelNames("setting", "reason").withoutExemplars().register(registry);
        lastApply = Gauge.builder().name("conntrack_last_apply_timestamp_seconds")
                .help("When the agent last wrote a setting to the kernel (Unix time).").withoutExemplars().register(registry);
        statusWrites = Counter.builder().name("conntrack_agent_status_writes_total")
                .help("Writes of this node's ConntrackNodeState status.").withoutExemplars().register(registry);
        autoRaises = Counter.builder().name("conntrack_auto_raises_total")
                .help("Times the agent raised nf_conntrack_max by itself (conntrack.autoscale).").withoutExemplars().register(registry);
        notrackRules = Gauge.builder().name("conntrack_notrack_rules")
                .help("nftables notrack rules of the agent's table (inet conntrack_operator) in the kernel at the last check (conntrack.notrack).")
                .withoutExemplars().register(registry);
        pollSeconds = Summary.builder().name("conntrack_agent_poll_duration_seconds")
                .help("Time one poll takes (reading the table, the counters, applying).").withoutExemplars().register(registry);
    }

    public PrometheusRegistry registry() {
        return registry;
    }

    /**
     * Everything one poll has to say in metrics: the table and counters it read, the settings
     * live after enforcement, what was written or refused, and whether auto-raise raised.
     */
    public void publish(NodeSample sample, Enforcer.Result done, boolean raised, String notrackFailureStarted,
            long nowEpochSeconds, OptionalInt objectSize) {
        for (KeyResult r : done.settings().results()) {
            if (r.outcome() == KeyOutcome.Applied || r.outcome() == KeyOutcome.Restored) {
                applied(nowEpochSeconds);
            } else if (r.outcome().isFailure()) {
                applyError(r.fieldName(), r.failure() == null ? "Unknown" : r.failure().reason().name());
            }
        }
        notrackRules(done.notrack().installedRules());
        if (done.notrack().installed() != null) {
            applied(nowEpochSeconds);
        }
        if (notrackFailureStarted != null) {
            applyError("notrack", "NftFailed");
        }
        if (raised) {
            autoRaised();
        }
        TableSnapshot table = sample.table();
        Optional<ConntrackStats> counters = sample.reading().stats();
        Long max = boxed(table.max());
        Long buckets = boxed(table.buckets());
        update(new Sample(boxed(table.count()), max, buckets,
                max != null && buckets != null ? TableMemory.estimate(max, buckets, objectSize) : null,
                counters.map(s -> boxed(s.drop())).orElse(null),
                counters.map(s -> boxed(s.earlyDrop())).orElse(null),
                counters.map(s -> boxed(s.insertFailed())).orElse(null),
                counters.map(s -> boxed(s.invalid())).orElse(null),
                sample.log().tableFullIncludingSuppressed()));
        settings(done.settings().current());
    }

    private static Long boxed(OptionalLong value) {
        return value.isPresent() ? value.getAsLong() : null;
    }

    public void update(Sample newest) {
        sample = newest;
    }

    public void settings(Map<String, String> current) {
        // Every poll passes the live values; they change rarely, and each gauge update parses and
        // looks up a labelled child.
        if (current.equals(lastSettings)) {
            return;
        }
        lastSettings = new java.util.HashMap<>(current);
        current.forEach((key, value) -> {
            try {
                settingValue.labelValues(key).set(Double.parseDouble(value));
            } catch (NumberFormatException ignored) {
                // Only numeric kernel values are exported.
            }
        });
    }

    public void applyError(String setting, String reason) {
        applyErrors.labelValues(setting, reason).inc();
    }

    public void applied(long epochSeconds) {
        lastApply.set(epochSeconds);
    }

    public void statusWritten() {
        statusWrites.inc();
    }

    public void autoRaised() {
        autoRaises.inc();
    }

    public void notrackRules(int rules) {
        notrackRules.set(rules);
    }

    public void pollTook(long nanos) {
        pollSeconds.observe(nanos / 1e9);
    }

    private interface Field {
        Long of(Sample s);
    }

    private void gauge(String name, String help, Field field) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> {
            Long v = field.of(sample);
            if (v != null) {
                cb.call(v);
            }
        }).register(registry);
    }

    private void counter(String name, String help, Field field) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> {
            Long v = field.of(sample);
            if (v != null) {
                cb.call(v);
            }
        }).register(registry);
    }
}
