package dev.conntrack.kernel;

/** Outcome of one write: success, or the classified refusal. Writers return this instead of throwing. */
public record WriteResult(IoFailure failure) {
    private static final WriteResult OK = new WriteResult(null);

    public static WriteResult success() {
        return OK;
    }

    public static WriteResult failed(IoFailure failure) {
        if (failure == null) {
            throw new IllegalArgumentException("failure");
        }
        return new WriteResult(failure);
    }

    public static WriteResult failed(FailureReason reason, String errnoText) {
        return failed(new IoFailure(reason, errnoText));
    }

    public boolean ok() {
        return failure == null;
    }
}
