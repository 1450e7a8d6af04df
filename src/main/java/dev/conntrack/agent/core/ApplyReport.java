package dev.conntrack.agent.core;

import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Everything one {@link SettingsApplier#reconcile} pass found and did, immutable. The maps are
 * keyed by conntrack field name, ready for ConntrackNodeStateStatus (current, originals, pending).
 */
public final class ApplyReport {
    private final Mode mode;
    private final List<KeyResult> results;
    private final Map<String, String> current;
    private final Map<String, String> originals;
    private final Map<String, String> pending;

    ApplyReport(Mode mode, List<KeyResult> results, Map<ConntrackKey, String> originals) {
        this.mode = mode;
        this.results = List.copyOf(results);
        Map<String, String> current = new LinkedHashMap<>();
        Map<String, String> pending = new LinkedHashMap<>();
        for (KeyResult r : this.results) {
            r.live().ifPresent(v -> current.put(r.fieldName(), v));
            if ((r.outcome() == KeyOutcome.WouldChange || r.outcome() == KeyOutcome.PendingRestore) && r.target() != null) {
                pending.put(r.fieldName(), r.target());
            }
        }
        Map<String, String> orig = new LinkedHashMap<>();
        originals.forEach((k, v) -> orig.put(k.fieldName(), v));
        this.current = Collections.unmodifiableMap(current);
        this.pending = Collections.unmodifiableMap(pending);
        this.originals = Collections.unmodifiableMap(orig);
    }

    public Mode mode() {
        return mode;
    }

    /** Per-key outcomes: desired keys in apply order, then keys that left the spec. */
    public List<KeyResult> results() {
        return results;
    }

    public Optional<KeyResult> result(ConntrackKey key) {
        return results.stream().filter(r -> r.key() == key).findFirst();
    }

    /** Live value of every managed key (desired or being restored) at the end of the pass. */
    public Map<String, String> current() {
        return current;
    }

    /** Originals still recorded after the pass. */
    public Map<String, String> originals() {
        return originals;
    }

    /** ObserveOnly: what Enforce would write (field -> desired value, or original for pending restores). */
    public Map<String, String> pending() {
        return pending;
    }

    public List<ExternalOverride> externalOverrides() {
        List<ExternalOverride> list = new ArrayList<>();
        for (KeyResult r : results) {
            if (r.override() != null) {
                list.add(r.override());
            }
        }
        return list;
    }

    public List<KeyResult> failures() {
        List<KeyResult> list = new ArrayList<>(0);
        for (KeyResult r : results) {
            if (r.outcome().isFailure()) {
                list.add(r);
            }
        }
        return list;
    }

    /**
     * Whether the pass wrote to the kernel or may have (a failure can follow a write the kernel
     * took but that did not verify): values read before the pass may be stale.
     */
    public boolean mayHaveWritten() {
        for (KeyResult r : results) {
            if (r.outcome() == KeyOutcome.Applied || r.outcome() == KeyOutcome.Restored || r.outcome().isFailure()) {
                return true;
            }
        }
        return false;
    }

    /** Some key could not be read, written, verified or restored. Asked several times per poll: a loop, not a stream. */
    public boolean degraded() {
        for (KeyResult r : results) {
            if (r.outcome().isFailure()) {
                return true;
            }
        }
        return false;
    }

    /** "max=262144: ReadOnlyFileSystem (Read-only file system); udp=60: InvalidValue (Invalid argument)", or "". */
    public String degradedMessage() {
        return failures().stream().map(KeyResult::describeFailure).collect(Collectors.joining("; "));
    }

    public long count(KeyOutcome outcome) {
        return results.stream().filter(r -> r.outcome() == outcome).count();
    }

    @Override
    public String toString() {
        return "ApplyReport[" + mode + ", " + results + "]";
    }
}
