package dev.conntrack.kernel;

import java.util.Optional;

/** A live value, or the failure that kept it from being read. Exactly one of the two is present. */
public record ReadResult(String value, IoFailure failure) {
    public ReadResult {
        if ((value == null) == (failure == null)) {
            throw new IllegalArgumentException("exactly one of value and failure must be set");
        }
    }

    public static ReadResult of(String value) {
        return new ReadResult(value, null);
    }

    public static ReadResult failed(IoFailure failure) {
        return new ReadResult(null, failure);
    }

    public boolean ok() {
        return value != null;
    }

    public Optional<String> valueIfOk() {
        return Optional.ofNullable(value);
    }
}
