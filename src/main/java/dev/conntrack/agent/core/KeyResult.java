package dev.conntrack.agent.core;

import dev.conntrack.kernel.ConntrackKey;
import dev.conntrack.kernel.IoFailure;
import java.util.Objects;
import java.util.Optional;

/**
 * The outcome for one key of one pass.
 *
 * @param target   the value we want in the kernel: the desired value, or the original when restoring;
 *                 null when the spec value itself was unusable
 * @param before   live value at the start of the pass (null if unreadable)
 * @param after    live value at the end of the pass, as read back (null if unreadable)
 * @param failure  why it failed (Failed, RestoreFailed), else null
 * @param override set when the value we wrote had been changed by someone else, else null
 */
public record KeyResult(ConntrackKey key, KeyOutcome outcome, String target, String before, String after,
                        IoFailure failure, ExternalOverride override) {
    public KeyResult {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(outcome, "outcome");
        if (outcome.isFailure() != (failure != null)) {
            throw new IllegalArgumentException(outcome + " with failure " + failure);
        }
    }

    public String fieldName() {
        return key.fieldName();
    }

    public Optional<String> live() {
        return Optional.ofNullable(after);
    }

    /** "max=262144: ReadOnlyFileSystem (Read-only file system)". */
    public String describeFailure() {
        if (failure == null) {
            return "";
        }
        String verb = outcome == KeyOutcome.RestoreFailed ? " (restoring)" : "";
        return key.fieldName() + (target == null ? "" : "=" + target) + verb + ": " + failure;
    }
}
