package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The age of a node's last status write at which the operator names its agent AgentSilent in the
 * policy's worstNodes: 3 minutes, three missed heartbeats of the agent's default 60 s
 * (CONNTRACK_HEARTBEAT_SECONDS, pinned in AgentConfigTest). A literal, so that changing the threshold
 * fails here and is a decision, not a side effect.
 */
class AgentSilentThresholdTest {
    @Test
    void threeMinutesIsThreeMissedHeartbeats() {
        assertThat(PolicyStatusAggregator.SILENT_AFTER).isEqualTo(Duration.ofMinutes(3));
    }
}
