package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class PollPacingTest {
    private static final Duration ONE_SECOND = Duration.ofSeconds(1);

    @Test
    void aTableWithRoomKeepsThePolicysInterval() {
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.of(89.9), 90, false)).isEqualTo(ONE_SECOND);
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.empty(), 90, false)).isEqualTo(ONE_SECOND);
    }

    @Test
    void usageAtTheWarningOrDropsPollFaster() {
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.of(90), 90, false)).isEqualTo(PollPacing.UNDER_PRESSURE);
        assertThat(PollPacing.next(Duration.ofSeconds(10), OptionalDouble.of(10), 90, true)).isEqualTo(PollPacing.UNDER_PRESSURE);
    }

    @Test
    void aPolicyIntervalShorterThanThePressurePaceIsKept() {
        Duration fast = Duration.ofMillis(100);
        assertThat(PollPacing.next(fast, OptionalDouble.of(99), 90, true)).isEqualTo(fast);
    }
}
