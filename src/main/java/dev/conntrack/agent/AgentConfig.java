package dev.conntrack.agent;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Agent settings from the environment (the DaemonSet sets them; the quick start too).
 * Bad values stop the agent at start-up with a message naming the variable.
 */
public record AgentConfig(
        String nodeName,
        Path hostRoot,
        Path stateDir,
        int metricsPort,
        int probePort,
        Duration heartbeat,
        boolean forceObserveOnly,
        String version,
        List<String> nftCommand) {

    public static final String NODE_NAME = "NODE_NAME";
    public static final String HOST_ROOT = "CONNTRACK_HOST_ROOT";
    public static final String STATE_DIR = "CONNTRACK_STATE_DIR";
    public static final String METRICS_PORT = "CONNTRACK_METRICS_PORT";
    /** Loopback-only port of the liveness and readiness probes (0: none); default the metrics port + 1. */
    public static final String PROBE_PORT = "CONNTRACK_PROBE_PORT";
    public static final String HEARTBEAT = "CONNTRACK_HEARTBEAT_SECONDS";
    /** A local safety cap: with "true" the agent never writes to the kernel, whatever the policies say. */
    public static final String FORCE_OBSERVE_ONLY = "CONNTRACK_FORCE_OBSERVE_ONLY";
    /**
     * The command that runs nft for the notrack rules, split at spaces; default "nft". Tests point
     * it into a lab namespace ("ip netns exec LAB nft") so they never touch the host's ruleset; an
     * empty value turns notrack off (the agent then reports rules it cannot install as Failed).
     */
    public static final String NFT_COMMAND = "CONNTRACK_NFT_COMMAND";

    public AgentConfig {
        nftCommand = nftCommand == null ? List.of() : List.copyOf(nftCommand);
    }

    public static AgentConfig fromEnvironment(Map<String, String> env) {
        String node = env.get(NODE_NAME);
        if (node == null || node.isBlank()) {
            throw new IllegalArgumentException(NODE_NAME + " is not set: the agent needs the name of the node it runs on "
                    + "(the DaemonSet passes it from spec.nodeName)");
        }
        return new AgentConfig(
                node.trim(),
                Path.of(env.getOrDefault(HOST_ROOT, "/")),
                Path.of(env.getOrDefault(STATE_DIR, "/var/lib/conntrack-operator")),
                intValue(env, METRICS_PORT, 9402, 0, 65535),
                intValue(env, PROBE_PORT, intValue(env, METRICS_PORT, 9402, 0, 65535) == 0 ? 0
                        : Math.min(65535, intValue(env, METRICS_PORT, 9402, 0, 65535) + 1), 0, 65535),
                Duration.ofSeconds(intValue(env, HEARTBEAT, 60, 1, 3600)),
                Boolean.parseBoolean(env.getOrDefault(FORCE_OBSERVE_ONLY, "false")),
                AgentConfig.class.getPackage().getImplementationVersion() != null
                        ? AgentConfig.class.getPackage().getImplementationVersion() : "0.1.0",
                words(env.getOrDefault(NFT_COMMAND, "nft")));
    }

    private static List<String> words(String command) {
        return Arrays.stream(command.trim().split("\\s+")).filter(w -> !w.isEmpty()).toList();
    }

    private static int intValue(Map<String, String> env, String name, int fallback, int min, int max) {
        String raw = env.get(name);
        if (raw == null || raw.isBlank()) {
            return fallback;
        }
        try {
            int value = Integer.parseInt(raw.trim());
            if (value < min || value > max) {
                throw new IllegalArgumentException(name + "=" + raw + " is out of range " + min + ".." + max);
            }
            return value;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + "=" + raw + " is not a number", e);
        }
    }

    /** Where the originals of this node are kept on the host, across agent restarts. */
    public Path originalsFile() {
        return stateDir.resolve("originals-" + nodeName + ".properties");
    }
}
