package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The agent's environment: the README's defaults, and a clear error naming a bad variable. */
class AgentConfigTest {
    @Test
    void theDefaultsAreTheDocumentedOnes() {
        AgentConfig config = AgentConfig.fromEnvironment(Map.of("NODE_NAME", " node-a "));

        assertThat(config.nodeName()).isEqualTo("node-a");
        assertThat(config.heartbeat()).isEqualTo(Duration.ofSeconds(60));
        assertThat(config.metricsPort()).isEqualTo(9402);
        assertThat(config.probePort()).isEqualTo(9403);
        assertThat(config.hostRoot()).isEqualTo(Path.of("/"));
        assertThat(config.originalsFile()).isEqualTo(Path.of("/var/lib/conntrack-operator/originals-node-a.properties"));
        assertThat(config.forceObserveOnly()).isFalse();
        assertThat(config.nftCommand()).containsExactly("nft");
    }

    @Test
    void settingsFromTheEnvironment() {
        AgentConfig config = AgentConfig.fromEnvironment(Map.of("NODE_NAME", "node-a", "CONNTRACK_HEARTBEAT_SECONDS", "5",
                "CONNTRACK_METRICS_PORT", "0", "CONNTRACK_FORCE_OBSERVE_ONLY", "true",
                "CONNTRACK_NFT_COMMAND", " ip netns exec lab  nft "));

        assertThat(config.heartbeat()).isEqualTo(Duration.ofSeconds(5));
        assertThat(config.metricsPort()).isZero();
        assertThat(config.probePort()).as("no metrics port, no probe port unless asked for").isZero();
        assertThat(config.forceObserveOnly()).isTrue();
        assertThat(config.nftCommand()).isEqualTo(List.of("ip", "netns", "exec", "lab", "nft"));
        assertThat(AgentConfig.fromEnvironment(Map.of("NODE_NAME", "n", "CONNTRACK_METRICS_PORT", "65535")).probePort())
                .isEqualTo(65535);
    }

    @Test
    void badValuesNameTheVariable() {
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("NODE_NAME is not set");
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("NODE_NAME", "n", "CONNTRACK_HEARTBEAT_SECONDS", "0")))
                .hasMessage("CONNTRACK_HEARTBEAT_SECONDS=0 is out of range 1..3600");
        assertThatThrownBy(() -> AgentConfig.fromEnvironment(Map.of("NODE_NAME", "n", "CONNTRACK_METRICS_PORT", "http")))
                .hasMessage("CONNTRACK_METRICS_PORT=http is not a number");
    }
}
