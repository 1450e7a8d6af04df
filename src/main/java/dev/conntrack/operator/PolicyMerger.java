package dev.conntrack.operator;

import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.api.ConflictNote;
import dev.conntrack.api.ConntrackNodeStateSpec;
import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.api.Defaults;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.MonitoringSpec;
import dev.conntrack.api.NotrackRule;
import io.fabric8.kubernetes.api.model.Node;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;
import java.util.TreeMap;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Merges every policy that selects a node into that node's {@link ConntrackNodeStateSpec}, field
 * by field: the first policy in precedence order (priority descending, then name ascending) that
 * sets a field wins it. Policies of the winner's priority that set the field to another value are
 * recorded as a {@link ConflictNote}; the name decides, so the outcome never depends on list order.
 *
 * <p>The output is deterministic (fixed field order, sorted maps) so the reconciler can compare it
 * with the stored spec using {@link #sameSpec} and skip the write. Stateless and thread-safe.
 */
public class PolicyMerger {

    // The contract's defaults (dev.conntrack.api.Defaults), which the CRD and the agent use too.
    public static final Mode DEFAULT_MODE = Defaults.mode(null);
    public static final DriftPolicy DEFAULT_DRIFT_POLICY = Defaults.driftPolicy(null);
    public static final int DEFAULT_USAGE_WARNING_PERCENT = Defaults.USAGE_WARNING_PERCENT;
    public static final String DEFAULT_POLL_INTERVAL = Defaults.POLL_INTERVAL;

    /** Higher priority first (absent is 0, the CRD default), then name ascending. */
    public static final Comparator<ConntrackPolicy> PRECEDENCE = Comparator
            .<ConntrackPolicy>comparingInt(PolicyMerger::priority).reversed()
            .thenComparing(PolicyMerger::name);

    /** Every mergeable field, in the order sources and conflicts are reported. */
    private static final List<Field> FIELDS = List.of(
            // max is the per-node value: maxPerCore/min already turned into an absolute max.
            new Field("conntrack.max", Candidate::max, (s, v) -> s.conntrack().setMax((Integer) v), false),
            conntrack("buckets", ConntrackSettings::getBuckets, (s, v) -> s.setBuckets((Integer) v), false),
            conntrack("tcpEstablished", ConntrackSettings::getTcpEstablished, (s, v) -> s.setTcpEstablished((String) v), true),
            conntrack("tcpTimeWait", ConntrackSettings::getTcpTimeWait, (s, v) -> s.setTcpTimeWait((String) v), true),
            conntrack("tcpCloseWait", ConntrackSettings::getTcpCloseWait, (s, v) -> s.setTcpCloseWait((String) v), true),
            conntrack("tcpSynSent", ConntrackSettings::getTcpSynSent, (s, v) -> s.setTcpSynSent((String) v), true),
            conntrack("tcpSynRecv", ConntrackSettings::getTcpSynRecv, (s, v) -> s.setTcpSynRecv((String) v), true),
            conntrack("tcpFinWait", ConntrackSettings::getTcpFinWait, (s, v) -> s.setTcpFinWait((String) v), true),
            conntrack("udp", ConntrackSettings::getUdp, (s, v) -> s.setUdp((String) v), true),
            conntrack("udpStream", ConntrackSettings::getUdpStream, (s, v) -> s.setUdpStream((String) v), true),
            conntrack("generic", ConntrackSettings::getGeneric, (s, v) -> s.setGeneric((String) v), true),
            conntrack("tcpBeLiberal", ConntrackSettings::getTcpBeLiberal, (s, v) -> s.setTcpBeLiberal((Boolean) v), false),
            conntrack("tcpLoose", ConntrackSettings::getTcpLoose, (s, v) -> s.setTcpLoose((Boolean) v), false),
            // Taken whole from one policy: a ceiling from one and a budget from another would be a bound nobody wrote.
            conntrack("autoscale", ConntrackSettings::getAutoscale, (s, v) -> s.setAutoscale((AutoscaleSpec) v), false),
            // Also whole: the rules of one policy are one decision about which traffic may skip
            // conntrack (a union would let any policy exempt traffic on nodes another one tunes).
            // An empty list set by a higher priority policy is a value too: it removes the rules.
            conntrack("notrack", ConntrackSettings::getNotrack, (s, v) -> s.setNotrack(notrackList(v)), false),
            new Field("monitoring.usageWarningPercent",
                    c -> c.monitoring() == null ? null : c.monitoring().getUsageWarningPercent(),
                    (s, v) -> s.monitoring.setUsageWarningPercent((Integer) v), false),
            new Field("monitoring.pollInterval",
                    c -> c.monitoring() == null ? null : c.monitoring().getPollInterval(),
                    (s, v) -> s.monitoring.setPollInterval((String) v), true),
            new Field("mode", c -> c.policy.getSpec().getMode(), (s, v) -> s.spec.setMode((Mode) v), false),
            new Field("driftPolicy", c -> c.policy.getSpec().getDriftPolicy(), (s, v) -> s.spec.setDriftPolicy((DriftPolicy) v), false));

    /**
     * The spec for {@code node}. Policies being deleted are ignored so that their settings leave
     * the node (the agent then restores the originals); policies that do not select the node are
     * skipped. A node no policy selects gets an empty spec that only monitors.
     */
    public ConntrackNodeStateSpec resolve(Node node, Collection<ConntrackPolicy> policies) {
        List<ConntrackPolicy> selecting = new ArrayList<>();
        for (ConntrackPolicy p : policies) {
            if (p != null && p.getSpec() != null && !deleting(p) && NodeSelectorMatcher.selects(p, node)) {
                selecting.add(p);
            }
        }
        selecting.sort(PRECEDENCE);

        List<String> warnings = new ArrayList<>();
        List<Candidate> candidates = new ArrayList<>(selecting.size());
        OptionalInt cores = null; // read once, and only when some policy sizes per core
        for (ConntrackPolicy p : selecting) {
            ConntrackSettings ct = p.getSpec().getConntrack();
            Integer max = ct == null ? null : ct.getMax();
            if (max == null && ct != null && ct.getMaxPerCore() != null) {
                if (cores == null) {
                    cores = ConntrackSizing.cores(node);
                }
                if (cores.isPresent()) {
                    max = ConntrackSizing.max(ct.getMaxPerCore(), ct.getMin(), cores.getAsInt());
                } else {
                    warnings.add("policy \"" + name(p) + "\": conntrack.maxPerCore needs the Node's CPU capacity; max not set");
                }
            }
            candidates.add(new Candidate(p, name(p), priority(p), max));
        }

        Target target = new Target();
        Map<String, String> sources = new TreeMap<>();
        List<ConflictNote> conflicts = new ArrayList<>();
        for (Field field : FIELDS) {
            mergeField(field, candidates, target, sources, conflicts);
        }

        keepAutoscaleWithinMax(target.conntrack, sources, warnings);
        ConntrackNodeStateSpec spec = target.spec;
        if (spec.getMode() == null) {
            spec.setMode(DEFAULT_MODE);
        }
        if (spec.getDriftPolicy() == null) {
            spec.setDriftPolicy(DEFAULT_DRIFT_POLICY);
        }
        if (target.monitoring.getUsageWarningPercent() == null) {
            target.monitoring.setUsageWarningPercent(DEFAULT_USAGE_WARNING_PERCENT);
        }
        if (target.monitoring.getPollInterval() == null) {
            target.monitoring.setPollInterval(DEFAULT_POLL_INTERVAL);
        }
        spec.setMonitoring(target.monitoring);
        spec.setConntrack(target.conntrack); // stays null when no policy sets a conntrack field
        spec.setPolicies(candidates.stream().map(Candidate::name).toList());
        Map<String, Long> generations = new TreeMap<>();
        for (ConntrackPolicy p : selecting) {
            Long generation = p.getMetadata() == null ? null : p.getMetadata().getGeneration();
            generations.put(name(p), generation == null ? 0L : generation);
        }
        spec.setPolicyGenerations(generations);
        spec.setSources(sources);
        spec.setConflicts(conflicts.isEmpty() ? null : conflicts);
        spec.setWarnings(warnings.isEmpty() ? null : warnings);
        return spec;
    }

    /**
     * Each policy passes the CRD's rule that autoscale.ceiling is at least max, but the merge can take
     * max from one policy and autoscale (whole) from another. The node state's schema refuses such a
     * spec, and a refused write would freeze the node: autoscale is left out, and a warning says why.
     */
    private static void keepAutoscaleWithinMax(ConntrackSettings ct, Map<String, String> sources, List<String> warnings) {
        AutoscaleSpec autoscale = ct == null ? null : ct.getAutoscale();
        if (autoscale == null || autoscale.getCeiling() == null || ct.getMax() == null || autoscale.getCeiling() >= ct.getMax()) {
            return;
        }
        warnings.add("policy \"" + sources.get("conntrack.autoscale") + "\": conntrack.autoscale left out, its ceiling "
                + autoscale.getCeiling() + " is below max " + ct.getMax() + " from policy \"" + sources.get("conntrack.max") + "\"");
        ct.setAutoscale(null);
        sources.remove("conntrack.autoscale");
    }

    /**
     * The mode {@link #resolve} gives a node these policies select: that of the first policy in
     * precedence order that sets one, else {@link #DEFAULT_MODE}. Without the rest of the merge.
     */
    public static Mode mode(Collection<ConntrackPolicy> selecting) {
        ConntrackPolicy first = null;
        for (ConntrackPolicy p : selecting) {
            if (p.getSpec() != null && p.getSpec().getMode() != null && (first == null || PRECEDENCE.compare(p, first) < 0)) {
                first = p;
            }
        }
        return first == null ? DEFAULT_MODE : first.getSpec().getMode();
    }

    /**
     * True when both specs serialize to the same JSON, ignoring null fields and empty lists/maps
     * (the API server may return either for a field we left empty).
     */
    public static boolean sameSpec(ConntrackNodeStateSpec a, ConntrackNodeStateSpec b) {
        return JsonTrees.same(a, b);
    }

    private static void mergeField(Field field, List<Candidate> candidates, Target target,
            Map<String, String> sources, List<ConflictNote> conflicts) {
        int i = 0;
        Object value = null;
        for (; i < candidates.size(); i++) {
            value = field.read.apply(candidates.get(i));
            if (value != null) {
                break;
            }
        }
        if (value == null) {
            return;
        }
        Candidate winner = candidates.get(i);
        field.write.accept(target, value);
        sources.put(field.path, winner.name);

        // Candidates are sorted, so equal-priority rivals follow the winner, already by name.
        List<String> rivals = null;
        for (int j = i + 1; j < candidates.size() && candidates.get(j).priority == winner.priority; j++) {
            Object other = field.read.apply(candidates.get(j));
            if (other != null && !sameValue(value, other, field.duration)) {
                if (rivals == null) {
                    rivals = new ArrayList<>();
                    rivals.add(winner.name);
                }
                rivals.add(candidates.get(j).name);
            }
        }
        if (rivals != null) {
            ConflictNote note = new ConflictNote();
            note.setField(field.path);
            note.setPolicies(rivals);
            note.setWinner(winner.name);
            conflicts.add(note);
        }
    }

    /** Durations are compared by length, so "1m" and "60s" are not reported as a conflict. */
    static boolean sameValue(Object a, Object b, boolean duration) {
        if (Objects.equals(a, b)) {
            return true;
        }
        if (duration && a instanceof String x && b instanceof String y) {
            BigDecimal dx = GoDurations.nanos(x);
            BigDecimal dy = GoDurations.nanos(y);
            return dx != null && dy != null && dx.compareTo(dy) == 0;
        }
        return false;
    }

    @SuppressWarnings("unchecked")
    private static List<NotrackRule> notrackList(Object value) {
        return List.copyOf((List<NotrackRule>) value);
    }

    static boolean deleting(ConntrackPolicy p) {
        return p.getMetadata() != null && p.getMetadata().getDeletionTimestamp() != null;
    }

    static int priority(ConntrackPolicy p) {
        Integer priority = p.getSpec() == null ? null : p.getSpec().getPriority();
        return priority == null ? 0 : priority;
    }

    static String name(ConntrackPolicy p) {
        String name = p.getMetadata() == null ? null : p.getMetadata().getName();
        return name == null ? "" : name;
    }

    private static Field conntrack(String name, Function<ConntrackSettings, Object> get,
            BiConsumer<ConntrackSettings, Object> set, boolean duration) {
        return new Field("conntrack." + name,
                c -> c.policy.getSpec().getConntrack() == null ? null : get.apply(c.policy.getSpec().getConntrack()),
                (t, v) -> set.accept(t.conntrack(), v), duration);
    }

    /** A selecting policy with what this node needs of it precomputed (the resolved max). */
    private record Candidate(ConntrackPolicy policy, String name, int priority, Integer max) {
        MonitoringSpec monitoring() {
            return policy.getSpec().getMonitoring();
        }
    }

    private record Field(String path, Function<Candidate, Object> read, BiConsumer<Target, Object> write, boolean duration) {
    }

    /** The spec being built; conntrack is created on the first field set so that it stays null otherwise. */
    private static final class Target {
        final ConntrackNodeStateSpec spec = new ConntrackNodeStateSpec();
        final MonitoringSpec monitoring = emptyMonitoring();
        ConntrackSettings conntrack;

        ConntrackSettings conntrack() {
            if (conntrack == null) {
                conntrack = new ConntrackSettings();
            }
            return conntrack;
        }

        /** MonitoringSpec starts with its CRD defaults; clear them so "not set by any policy" is visible. */
        private static MonitoringSpec emptyMonitoring() {
            MonitoringSpec m = new MonitoringSpec();
            m.setUsageWarningPercent(null);
            m.setPollInterval(null);
            return m;
        }
    }
}
