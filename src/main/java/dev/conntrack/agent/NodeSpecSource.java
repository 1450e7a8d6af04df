package dev.conntrack.agent;

import dev.conntrack.api.ConntrackNodeState;
import java.util.Optional;

/** Where the agent's poll finds this node's ConntrackNodeState: its own watch ({@link NodeSpecWatch}). */
public interface NodeSpecSource {
    /** The newest node state seen, empty until the first one arrives. */
    Optional<ConntrackNodeState> current();

    /** Why the newest node state was refused (its spec cannot be enforced as it is), if it was. */
    default Optional<String> refused() {
        return Optional.empty();
    }

    /** Tries the API server again now instead of after the backoff (the cause of its failures is gone). */
    default void retryNow() {
    }
}
