package dev.conntrack.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conntrack.api.ConntrackPolicy;
import dev.conntrack.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The operator's memory of a rollout: which nodes each generation admitted, and how long each policy version has been known. */
class RolloutGateTest {
    private static final Duration SETTLE = Duration.ofSeconds(2);

    private final SettableClock clock = new SettableClock(Instant.parse("2026-12-06T17:00:00Z"));
    private final RolloutGate gate = new RolloutGate(SETTLE, clock);

    private static ConntrackPolicy policy(long generation) {
        ConntrackPolicy p = new ConntrackPolicy();
        p.getMetadata().setName("p");
        p.getMetadata().setUid("uid-1");
        p.getMetadata().setGeneration(generation);
        return p;
    }

    @Test
    void batchesOfOneGenerationAddUpAndANewGenerationStartsOver() {
        assertThat(gate.mayAdvance("p", 1, "a")).isFalse();
        gate.admit("p", 1, List.of("a"));
        gate.admit("p", 1, List.of("b"));
        assertThat(gate.mayAdvance("p", 1, "a")).isTrue();
        assertThat(gate.mayAdvance("p", 1, "b")).isTrue();
        assertThat(gate.admitted("p", 1)).containsExactlyInAnyOrder("a", "b");
        assertThat(gate.mayAdvance("p", 2, "a")).as("admitted to generation 1 only").isFalse();

        gate.admit("p", 2, List.of("c"));
        assertThat(gate.mayAdvance("p", 1, "a")).isFalse();
        assertThat(gate.admitted("p", 1)).isEmpty();
        assertThat(gate.admitted("p", 2)).containsExactly("c");
        gate.admit("p", 2, List.of());
        assertThat(gate.admitted("p", 2)).containsExactly("c");

        gate.forget("p");
        assertThat(gate.mayAdvance("p", 2, "c")).isFalse();
    }

    @Test
    void aVersionSettlesOnceKnownForTheWindow() {
        assertThat(gate.unsettled(policy(1))).as("never seen").isEqualTo(SETTLE);
        gate.seen(policy(1));
        clock.advance(Duration.ofMillis(500));
        gate.seen(policy(1)); // seen again: the stamp stays
        assertThat(gate.unsettled(policy(1))).isEqualTo(Duration.ofMillis(1500));
        clock.advance(Duration.ofMillis(1500));
        assertThat(gate.unsettled(policy(1))).isZero();
        clock.advance(Duration.ofSeconds(5));
        assertThat(gate.unsettled(policy(1))).isZero();

        assertThat(gate.unsettled(policy(2))).as("an edit is a new version").isEqualTo(SETTLE);
        ConntrackPolicy deleting = policy(1);
        deleting.getMetadata().setDeletionTimestamp("2026-12-06T17:00:08Z");
        assertThat(gate.unsettled(deleting)).as("so is a deletion").isEqualTo(SETTLE);
        gate.gone(policy(1));
        assertThat(gate.unsettled(policy(1))).isEqualTo(SETTLE);
    }

    @Test
    void aNegativeWindowIsRefused() {
        assertThatThrownBy(() -> new RolloutGate(Duration.ofSeconds(-1), clock))
                .hasMessage("conntrack.rollout.settle must not be negative: PT-1S");
    }
}
