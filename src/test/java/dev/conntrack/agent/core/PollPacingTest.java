package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.OptionalDouble;
import org.junit.jupiter.api.Test;

class PollPacingTest {
    private static final Duration ONE_SECOND = Duration.ofSeconds(1);
    /** The README's promise: under pressure the agent polls at least every 200 ms. */
    private static final Duration TWO_HUNDRED_MS = Duration.ofMillis(200);

    @Test
    void aTableWithRoomKeepsThePolicysInterval() {
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.of(89.9), 90, false)).isEqualTo(ONE_SECOND);
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.empty(), 90, false)).isEqualTo(ONE_SECOND);
    }

    @Test
    void usageAtTheWarningOrDropsPollFaster() {
        assertThat(PollPacing.next(ONE_SECOND, OptionalDouble.of(90), 90, false)).isEqualTo(TWO_HUNDRED_MS);
        assertThat(PollPacing.next(Duration.ofSeconds(10), OptionalDouble.of(10), 90, true)).isEqualTo(TWO_HUNDRED_MS);
    }

    @Test
    void thePressurePaceIsTwoHundredMilliseconds() {
        assertThat(PollPacing.UNDER_PRESSURE).isEqualTo(TWO_HUNDRED_MS);
        assertThat(PollPacing.next(Duration.ofMillis(201), OptionalDouble.of(95), 90, false)).isEqualTo(TWO_HUNDRED_MS);
        assertThat(PollPacing.next(TWO_HUNDRED_MS, OptionalDouble.of(95), 90, true)).isEqualTo(TWO_HUNDRED_MS);
    }

    @Test
    void aPolicyIntervalShorterThanThePressurePaceIsKept() {
        Duration fast = Duration.ofMillis(100);
        assertThat(PollPacing.next(fast, OptionalDouble.of(99), 90, true)).isEqualTo(fast);
    }
}
