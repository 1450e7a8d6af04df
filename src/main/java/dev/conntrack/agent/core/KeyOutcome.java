package dev.conntrack.agent.core;

/** What one reconcile pass did with one kernel parameter. */
public enum KeyOutcome {
    /** Written (Enforce) and verified by reading back. */
    Applied,
    /** The live value already is the desired one (or the kernel's rounding of what we wrote). */
    AlreadyCorrect,
    /** ObserveOnly: differs from the spec; Enforce would write it. Nothing written. */
    WouldChange,
    /** Changed behind our back and left as found, because the drift policy is Report. */
    ExternalOverride,
    /** Could not read, record the original, write, or verify; the value is unchanged (see failure). */
    Failed,
    /** Left the spec: the original value is back and forgotten. */
    Restored,
    /** Left the spec while in ObserveOnly: the original would be written back in Enforce mode. */
    PendingRestore,
    /** Left the spec, but writing the original back failed; retried on the next pass. */
    RestoreFailed;

    public boolean isFailure() {
        return this == Failed || this == RestoreFailed;
    }
}
