package dev.conntrack.agent.kube;

/** A failed API call: the HTTP status (0 when the server was not reached) and what it said. */
public class KubeApiException extends Exception {
    private final int code;

    public KubeApiException(int code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    public KubeApiException(int code, String message) {
        this(code, message, null);
    }

    /** HTTP status, or 0 when there was no answer (connection refused, timeout, TLS failure). */
    public int code() {
        return code;
    }
}
