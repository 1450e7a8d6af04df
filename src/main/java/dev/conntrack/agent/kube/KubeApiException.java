package dev.conntrack.agent.kube;

/** A failed API call: the HTTP status (0 when the server was not reached) and what it said. */
public class KubeApiException extends Exception {
    private final int code;
    private final long retryAfterSeconds;

    public KubeApiException(int code, String message, Throwable cause) {
        this(code, message, cause, -1);
    }

    /** RETRY_AFTER_SECONDS: what the server's Retry-After header asked for (429, 503), or -1. */
    public KubeApiException(int code, String message, Throwable cause, long retryAfterSeconds) {
        super(message, cause);
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** Seconds the server asked the client to wait (Retry-After), or -1 when it did not say. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public KubeApiException(int code, String message) {
        this(code, message, null);
    }

    /** HTTP status, or 0 when there was no answer (connection refused, timeout, TLS failure). */
    public int code() {
        return code;
    }
}
