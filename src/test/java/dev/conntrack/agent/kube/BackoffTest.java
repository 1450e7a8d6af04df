package dev.conntrack.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void growsExponentiallyWithJitterUpToTheCapAndStartsOverAfterASuccess() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
        long[] caps = {1000, 2000, 4000, 8000, 16000, 30000, 30000};
        for (long cap : caps) {
            assertThat(backoff.next(null).toMillis()).isBetween(cap / 2, cap);
        }
        backoff.reset();
        assertThat(backoff.next(null).toMillis()).isBetween(500L, 1000L);
    }

    @Test
    void aFleetDoesNotComeBackInStep() {
        // 1,000 agents after the same number of failures: their waits spread over half the step.
        java.util.Set<Long> waits = new java.util.HashSet<>();
        for (int i = 0; i < 1000; i++) {
            Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
            for (int f = 0; f < 4; f++) {
                b.next(null);
            }
            waits.add(b.next(null).toMillis() / 100);
        }
        assertThat(waits).as("distinct 100 ms slots among 8-16 s").hasSizeGreaterThan(50);
    }

    @Test
    void retryAfterIsALowerBound() {
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
        assertThat(backoff.next(new KubeApiException(429, "too many requests", null, 7))).isEqualTo(Duration.ofSeconds(7));
        assertThat(backoff.next(new KubeApiException(503, "unavailable", null, -1)).toMillis()).isLessThanOrEqualTo(2000);
    }

    @Test
    void spreadOverAPeriodEachCallerRetriesAtItsOwnTimeInThePeriodAfterTheBackoff() {
        Duration period = Duration.ofSeconds(90);
        Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30)).spreadOver(period, 3);
        for (int f = 0; f < 3; f++) {
            assertThat(backoff.next(null)).as("a blip: the plain backoff").isLessThanOrEqualTo(Duration.ofSeconds(4));
        }
        long now = 1_700_000_000_000L;
        Duration first = backoff.untilOwnTime(now, Duration.ofSeconds(10));
        Duration later = backoff.untilOwnTime(now + 37_000, Duration.ofSeconds(25));
        assertThat(first).isBetween(Duration.ofSeconds(10), Duration.ofSeconds(100));
        assertThat(later).isBetween(Duration.ofSeconds(25), Duration.ofSeconds(115));
        assertThat((now + first.toMillis()) % period.toMillis()).as("the same time in every period")
                .isEqualTo((now + 37_000 + later.toMillis()) % period.toMillis());
        assertThat(backoff.next(null)).as("the fourth failure in a row waits for its own time").isBetween(Duration.ofSeconds(4),
                Duration.ofSeconds(98));
    }

    @Test
    void aFleetSpreadOverAPeriodComesBackEvenlyWhereThePlainBackoffBunchesUp() {
        // 5,000 agents that failed six times in a row (about a minute of outage) retry once more now.
        int[] spread = retriesPer10Seconds(true);
        int[] plain = retriesPer10Seconds(false);
        int even = 5000 / 9;
        assertThat(java.util.Arrays.stream(spread).max().getAsInt()).as("busiest 10 s of 90, spread: %s", java.util.Arrays.toString(spread))
                .isLessThanOrEqualTo(even * 13 / 10);
        assertThat(java.util.Arrays.stream(plain).max().getAsInt()).as("busiest 10 s, plain: %s", java.util.Arrays.toString(plain))
                .isGreaterThan(even * 2);
    }

    private static int[] retriesPer10Seconds(boolean spreadOver) {
        int[] buckets = new int[12];
        long start = System.currentTimeMillis();
        for (int i = 0; i < 5000; i++) {
            Backoff b = new Backoff(Duration.ofSeconds(1), Duration.ofSeconds(30));
            if (spreadOver) {
                b = b.spreadOver(Duration.ofSeconds(90), 3);
            }
            for (int f = 0; f < 6; f++) {
                b.next(null);
            }
            buckets[(int) Math.min(11, b.next(null).toMillis() / 10_000 + (System.currentTimeMillis() - start) / 10_000)]++;
        }
        return buckets;
    }
}
