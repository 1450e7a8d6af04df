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
}
