package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackPolicyStatus;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.DaemonSetBuilder;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class AgentPodsConditionTest {
    private static final Instant NOW = Instant.parse("2026-12-06T12:00:00Z");

    @Test
    void missingAgentPodsNameTheDaemonSetAndItsCounts() {
        Condition c = AgentPodsCondition.of(daemonSet(3, 1, 2), 4L).orElseThrow();
        assertThat(c.getType()).isEqualTo("AgentPodsReady");
        assertThat(c.getStatus()).isEqualTo("False");
        assertThat(c.getReason()).isEqualTo("AgentPodsNotReady");
        assertThat(c.getMessage()).startsWith("1 of 3 agent pods of DaemonSet conntrack-system/conntrack-agent are ready (2 unavailable)");
        assertThat(c.getObservedGeneration()).isEqualTo(4L);
    }

    @Test
    void noConditionWhileEveryPodIsReadyOrNoneIsWantedOrNothingIsKnown() {
        assertThat(AgentPodsCondition.of(daemonSet(2, 2, 0), 1L)).isEmpty();
        assertThat(AgentPodsCondition.of(daemonSet(0, 0, 0), 1L)).isEmpty();
        assertThat(AgentPodsCondition.of(new DaemonSetBuilder().withNewMetadata().withName("x").endMetadata().build(), 1L)).isEmpty();
        assertThat(AgentPodsCondition.of(null, 1L)).isEmpty();
    }

    @Test
    void addedToAnUnchangedStatusThenKeptThenRemoved() {
        ConntrackPolicyStatus previous = status(Conditions.of("Ready", true, "AllNodesApplied", "ok", 1L));
        Optional<Condition> missing = AgentPodsCondition.of(daemonSet(1, 0, 1), 1L);

        ConntrackPolicyStatus withIt = AgentPodsCondition.amend(previous, Optional.empty(), missing, NOW).orElseThrow();
        assertThat(withIt.getConditions()).extracting(Condition::getType).containsExactly("Ready", "AgentPodsReady");
        assertThat(Conditions.find(withIt.getConditions(), "AgentPodsReady").getLastTransitionTime()).isEqualTo("2026-12-06T12:00:00Z");
        assertThat(previous.getConditions()).hasSize(1);

        assertThat(AgentPodsCondition.amend(withIt, Optional.empty(), missing, NOW.plusSeconds(60))).isEmpty();
        // A new roll-up keeps the condition and its transition time.
        ConntrackPolicyStatus rolled = AgentPodsCondition.amend(withIt,
                Optional.of(status(Conditions.of("Ready", false, "NodesPending", "1 node", 1L))), missing, NOW.plusSeconds(60)).orElseThrow();
        assertThat(Conditions.find(rolled.getConditions(), "AgentPodsReady").getLastTransitionTime()).isEqualTo("2026-12-06T12:00:00Z");

        ConntrackPolicyStatus healed = AgentPodsCondition.amend(rolled, Optional.empty(), Optional.empty(), NOW).orElseThrow();
        assertThat(healed.getConditions()).extracting(Condition::getType).containsExactly("Ready");
        assertThat(AgentPodsCondition.amend(healed, Optional.empty(), Optional.empty(), NOW)).isEmpty();
    }

    private static ConntrackPolicyStatus status(Condition... conditions) {
        ConntrackPolicyStatus s = new ConntrackPolicyStatus();
        s.setConditions(new ArrayList<>(List.of(conditions)));
        return s;
    }

    private static DaemonSet daemonSet(int desired, int ready, int unavailable) {
        return new DaemonSetBuilder().withNewMetadata().withNamespace("conntrack-system").withName("conntrack-agent").endMetadata()
                .withNewStatus().withDesiredNumberScheduled(desired).withNumberReady(ready).withNumberUnavailable(unavailable).endStatus()
                .build();
    }
}
