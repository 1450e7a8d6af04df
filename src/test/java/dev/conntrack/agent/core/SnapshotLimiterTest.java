package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.conntrack.agent.core.SnapshotLimiter.Decision;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class SnapshotLimiterTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000_000L);
    private final SnapshotLimiter limiter = new SnapshotLimiter(Duration.ofMinutes(5), now::get);

    private void advance(Duration d) {
        now.addAndGet(d.toNanos());
    }

    @Test
    void firstPressureListsThenAtMostOncePerInterval() {
        assertThat(limiter.decide(true)).isEqualTo(Decision.TAKE_PRESSURE);
        advance(Duration.ofSeconds(10));
        assertThat(limiter.decide(true)).isEqualTo(Decision.SKIP_RATE_LIMITED);
        assertThat(limiter.untilNextAllowed()).isEqualTo(Duration.ofMinutes(5).minusSeconds(10));
        advance(Duration.ofMinutes(4).plusSeconds(49));
        assertThat(limiter.decide(true)).isEqualTo(Decision.SKIP_RATE_LIMITED);
        advance(Duration.ofSeconds(1));
        assertThat(limiter.untilNextAllowed()).isZero();
        assertThat(limiter.decide(true)).isEqualTo(Decision.TAKE_PRESSURE);
        assertThat(limiter.decide(true)).isEqualTo(Decision.SKIP_RATE_LIMITED);
    }

    @Test
    void theAgentsLimiterListsAtMostEveryFiveMinutes() {
        SnapshotLimiter agents = new SnapshotLimiter(); // as NodePoller makes it, on System::nanoTime
        assertThat(agents.decide(true)).isEqualTo(Decision.TAKE_PRESSURE);
        assertThat(agents.decide(true)).isEqualTo(Decision.SKIP_RATE_LIMITED);
        assertThat(agents.untilNextAllowed()).isLessThanOrEqualTo(Duration.ofMinutes(5))
                .isGreaterThan(Duration.ofMinutes(4).plusSeconds(30));
    }

    @Test
    void noPressureNeverLists() {
        assertThat(limiter.decide(false)).isEqualTo(Decision.SKIP_NO_PRESSURE);
        advance(Duration.ofHours(1));
        assertThat(limiter.decide(false)).isEqualTo(Decision.SKIP_NO_PRESSURE);
        assertThat(limiter.decide(false).take()).isFalse();
    }

    @Test
    void manualRequestListsAtTheNextPollOnceAndRestartsTheInterval() {
        assertThat(limiter.decide(true)).isEqualTo(Decision.TAKE_PRESSURE);
        advance(Duration.ofSeconds(30));
        limiter.requestManual();
        limiter.requestManual(); // two requests before a poll: one listing

        assertThat(limiter.decide(false)).isEqualTo(Decision.TAKE_MANUAL);
        assertThat(limiter.decide(false)).isEqualTo(Decision.SKIP_NO_PRESSURE);
        advance(Duration.ofMinutes(4).plusSeconds(59));
        // 5 min after the pressure listing but not after the manual one.
        assertThat(limiter.decide(true)).isEqualTo(Decision.SKIP_RATE_LIMITED);
        advance(Duration.ofSeconds(1));
        assertThat(limiter.decide(true)).isEqualTo(Decision.TAKE_PRESSURE);
    }

    @Test
    void aZeroIntervalListsOnEveryPressuredPoll() {
        SnapshotLimiter always = new SnapshotLimiter(Duration.ZERO, now::get);
        assertThat(always.decide(true).take()).isTrue();
        assertThat(always.decide(true).take()).isTrue();
    }

    @Test
    void negativeIntervalIsRejected() {
        assertThatThrownBy(() -> new SnapshotLimiter(Duration.ofSeconds(-1), now::get))
                .hasMessageContaining("minInterval");
    }
}
