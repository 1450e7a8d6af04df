package dev.conntrack.agent.core;

import dev.conntrack.api.Defaults;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.FailureReason;
import dev.conntrack.kernel.IoFailure;
import dev.conntrack.kernel.KernelSettings;
import dev.conntrack.kernel.OriginalsStore;
import dev.conntrack.kernel.ReadResult;
import dev.conntrack.kernel.WriteResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Brings the kernel's conntrack parameters to a node's spec, one pass per call; the agent calls
 * {@link #reconcile} on every poll, so anything that failed is simply tried again next time (a
 * module loaded late, a file that appears, a transient error).
 *
 * <p>Rules:
 * <ul>
 * <li>Enforce: before the first change of a key its live value is persisted in the
 *     {@link OriginalsStore}; if that fails nothing is written. Every write is verified by reading
 *     back (the kernel rounds hashsize up; see {@link ConntrackKey#liveMatches}).</li>
 * <li>ObserveOnly writes nothing to the kernel: differences are WouldChange, keys that left the
 *     spec are PendingRestore ("change nothing" includes not restoring). The only bookkeeping it
 *     does is forgetting an original that already equals the live value.</li>
 * <li>A key that leaves the spec (original recorded, no longer desired) gets its original back in
 *     Enforce mode, then the original is forgotten. Nothing is restored when the agent stops:
 *     rolling back on daemon exit causes outages on restarts and upgrades.</li>
 * <li>Drift: the applier remembers what the kernel held after its last write of each key, for the
 *     desired value it wrote. If a later pass finds another value while the desired value has not
 *     changed, that is an external override: reported, and written again only with
 *     {@link DriftPolicy#Reapply} (and Enforce). A changed spec value is a new intent, not drift.
 *     This memory lives in the process: after a restart the first pass simply applies.</li>
 * <li>One refused key never stops the others: every key gets its own result.</li>
 * </ul>
 * Not thread-safe: one applier per agent, called by its one enforcer.
 */
public final class SettingsApplier {
    /** What the kernel held after our last verified write, and which desired value that was for. */
    private record Written(String desired, String effective) {
    }

    private final KernelSettings kernel;
    private final OriginalsStore originals;
    private final Map<ConntrackKey, Written> lastWritten = new EnumMap<>(ConntrackKey.class);

    public SettingsApplier(KernelSettings kernel, OriginalsStore originals) {
        this.kernel = Objects.requireNonNull(kernel, "kernel");
        this.originals = Objects.requireNonNull(originals, "originals");
    }

    /**
     * One pass. Null mode and drift policy take the contract's defaults (Enforce, Reapply);
     * {@link DesiredValues#NONE} means nothing is desired (every recorded original is due for restore).
     */
    public ApplyReport reconcile(DesiredValues desired, Mode mode, DriftPolicy driftPolicy) {
        Mode m = Defaults.mode(mode);
        DriftPolicy drift = Defaults.driftPolicy(driftPolicy);
        List<KeyResult> results = new ArrayList<>();
        Set<ConntrackKey> inSpec = EnumSet.noneOf(ConntrackKey.class);
        for (ConntrackKey key : ConntrackKey.values()) {
            String value = desired.values().get(key);
            String invalid = desired.invalid().get(key);
            if (invalid != null) {
                // Still in the spec (so not restored), just unusable; the CRD should have prevented it.
                inSpec.add(key);
                results.add(failed(key, null, null, FailureReason.InvalidValue, invalid));
            } else if (value != null) {
                inSpec.add(key);
                results.add(apply(key, value, m, drift));
            }
        }
        for (Map.Entry<ConntrackKey, String> original : originals.all().entrySet()) {
            if (!inSpec.contains(original.getKey())) {
                results.add(restore(original.getKey(), original.getValue(), m));
            }
        }
        lastWritten.keySet().retainAll(inSpec);
        return new ApplyReport(m, results, originals.all());
    }

    private KeyResult apply(ConntrackKey key, String want, Mode mode, DriftPolicy drift) {
        ReadResult live = kernel.read(key);
        if (!live.ok()) {
            // NotFound here usually means nf_conntrack is not loaded yet: the next pass retries.
            return new KeyResult(key, KeyOutcome.Failed, want, null, null, live.failure(), null);
        }
        String now = live.value();
        Written ours = lastWritten.get(key);
        boolean sameIntent = ours != null && ours.desired().equals(want);
        if (key.liveMatches(want, now) || (sameIntent && now.equals(ours.effective()))) {
            return new KeyResult(key, KeyOutcome.AlreadyCorrect, want, now, now, null, null);
        }
        ExternalOverride override = sameIntent
                ? new ExternalOverride(key, ours.effective(), now, mode == Mode.Enforce && drift == DriftPolicy.Reapply)
                : null;
        if (mode == Mode.ObserveOnly) {
            return new KeyResult(key, KeyOutcome.WouldChange, want, now, now, null, override);
        }
        if (override != null && drift == DriftPolicy.Report) {
            return new KeyResult(key, KeyOutcome.ExternalOverride, want, now, now, null, override);
        }
        boolean recordedNow;
        try {
            recordedNow = originals.recordIfAbsent(key, now);
        } catch (IOException | RuntimeException e) {
            return failed(key, want, now, FailureReason.Other, "cannot record the original value, not writing: " + e.getMessage());
        }
        WriteResult written = kernel.write(key, want);
        if (!written.ok()) {
            if (recordedNow) {
                forgetQuietly(key); // nothing changed, so there is no original to keep
            }
            return new KeyResult(key, KeyOutcome.Failed, want, now, now, written.failure(), override);
        }
        ReadResult back = kernel.read(key);
        if (!back.ok()) {
            return new KeyResult(key, KeyOutcome.Failed, want, now, null, back.failure(), override);
        }
        if (!key.liveMatches(want, back.value())) {
            return new KeyResult(key, KeyOutcome.Failed, want, now, back.value(),
                    new IoFailure(FailureReason.NotVerified, "wrote " + want + ", kernel reports " + back.value()), override);
        }
        lastWritten.put(key, new Written(want, back.value()));
        return new KeyResult(key, KeyOutcome.Applied, want, now, back.value(), null, override);
    }

    private KeyResult restore(ConntrackKey key, String original, Mode mode) {
        lastWritten.remove(key);
        ReadResult live = kernel.read(key);
        if (!live.ok()) {
            return new KeyResult(key, KeyOutcome.RestoreFailed, original, null, null, live.failure(), null);
        }
        String now = live.value();
        if (key.liveMatches(original, now)) {
            // Nothing to write back in either mode; forgetting only touches our own file.
            return forgetAfterRestore(key, original, now, now);
        }
        if (mode == Mode.ObserveOnly) {
            return new KeyResult(key, KeyOutcome.PendingRestore, original, now, now, null, null);
        }
        WriteResult written = kernel.write(key, original);
        if (!written.ok()) {
            return new KeyResult(key, KeyOutcome.RestoreFailed, original, now, now, written.failure(), null);
        }
        ReadResult back = kernel.read(key);
        if (!back.ok()) {
            return new KeyResult(key, KeyOutcome.RestoreFailed, original, now, null, back.failure(), null);
        }
        if (!key.liveMatches(original, back.value())) {
            return new KeyResult(key, KeyOutcome.RestoreFailed, original, now, back.value(),
                    new IoFailure(FailureReason.NotVerified, "wrote " + original + ", kernel reports " + back.value()), null);
        }
        return forgetAfterRestore(key, original, now, back.value());
    }

    private KeyResult forgetAfterRestore(ConntrackKey key, String original, String before, String after) {
        try {
            originals.forget(key);
        } catch (IOException e) {
            // The kernel has its original back; the next pass finds live == original and forgets again.
            return failed(key, original, before, after, FailureReason.Other, "restored, but cannot forget the original: " + e.getMessage(),
                    KeyOutcome.RestoreFailed);
        }
        return new KeyResult(key, KeyOutcome.Restored, original, before, after, null, null);
    }

    private void forgetQuietly(ConntrackKey key) {
        try {
            originals.forget(key);
        } catch (IOException e) {
            // Rare (the file was just written): the recorded value is the unchanged live one, so a
            // later restore writes back what the kernel had before this failed attempt.
        }
    }

    private static KeyResult failed(ConntrackKey key, String target, String live, FailureReason reason, String text) {
        return failed(key, target, live, live, reason, text, KeyOutcome.Failed);
    }

    private static KeyResult failed(ConntrackKey key, String target, String before, String after, FailureReason reason,
                                    String text, KeyOutcome outcome) {
        return new KeyResult(key, outcome, target, before, after, new IoFailure(reason, text), null);
    }
}
