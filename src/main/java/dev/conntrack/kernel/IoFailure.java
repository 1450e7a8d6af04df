package dev.conntrack.kernel;

import java.util.Objects;

/**
 * A refused kernel file operation: the classified reason plus the errno-like text the JDK gave
 * (e.g. "Read-only file system"), kept verbatim for status messages.
 */
public record IoFailure(FailureReason reason, String errnoText) {
    public IoFailure {
        Objects.requireNonNull(reason, "reason");
        errnoText = errnoText == null ? "" : errnoText;
    }

    @Override
    public String toString() {
        return errnoText.isEmpty() ? reason.name() : reason + " (" + errnoText + ")";
    }
}
