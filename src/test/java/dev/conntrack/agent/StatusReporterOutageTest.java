package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.Conditions;
import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.testing.SettableClock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * 5,000 agents' status reporters (the real StatusReporter, on one simulated clock) through a 60 s
 * API server outage: what reaches the server after it is back. The figure the issue asks for: the
 * request rate after the recovery stays within 2x of the idle rate, and every agent writes again.
 */
class StatusReporterOutageTest {
    private static final int AGENTS = 5000;
    private static final Duration HEARTBEAT = Duration.ofSeconds(60);
    private static final long STEP_MILLIS = 200; // the reporting thread's rhythm
    private static final Instant START = Instant.parse("2026-12-06T10:00:00Z");

    /** One API server for the whole fleet: counts the writes it answers, per simulated second; refuses all while down. */
    private static final class Server extends KubeClient {
        final SettableClock clock;
        final Map<Long, Integer> perSecond = new java.util.HashMap<>();
        boolean down;

        Server(SettableClock clock) {
            this.clock = clock;
        }

        @Override
        public String patch(String path, String contentType, String body) throws KubeApiException {
            if (down) {
                throw new KubeApiException(0, "API server unreachable: Connection refused");
            }
            perSecond.merge(clock.instant().getEpochSecond() - START.getEpochSecond(), 1, Integer::sum);
            return "{}";
        }

        double rate(long fromSecond, long toSecond) {
            long n = 0;
            for (long s = fromSecond; s < toSecond; s++) {
                n += perSecond.getOrDefault(s, 0);
            }
            return (double) n / (toSecond - fromSecond);
        }

        /** The busiest 10 s window in [from, to), in writes per second. */
        double peak(long fromSecond, long toSecond) {
            double peak = 0;
            for (long s = fromSecond; s + 10 <= toSecond; s++) {
                peak = Math.max(peak, rate(s, s + 10));
            }
            return peak;
        }
    }

    private static ConntrackNodeStateStatus status() {
        ConntrackNodeStateStatus s = new ConntrackNodeStateStatus();
        s.setObservedGeneration(1L);
        s.setConditions(List.of(Conditions.create("Applied", "True", "SettingsApplied", "m", 1L)));
        return s;
    }

    @Test
    void aFleetComesBackFromA60SecondOutageWithoutAStampedeAndNoAgentGivesUp() {
        SettableClock clock = new SettableClock(START);
        Server server = new Server(clock);
        List<StatusReporter> reporters = new ArrayList<>();
        List<ConntrackNodeStateStatus> statuses = new ArrayList<>();
        for (int i = 0; i < AGENTS; i++) {
            reporters.add(new StatusReporter(server, "node-" + i, clock, HEARTBEAT));
            statuses.add(status());
        }
        long outageFrom = 180;
        long outageTo = outageFrom + 60;
        long end = outageTo + 120;
        int[] writesAfter = new int[AGENTS];
        for (long t = 0; t < end * 1000; t += STEP_MILLIS) {
            if (t > 0) {
                clock.advance(Duration.ofMillis(STEP_MILLIS));
            }
            server.down = t >= outageFrom * 1000 && t < outageTo * 1000;
            for (int i = 0; i < AGENTS; i++) {
                // The agents started over the first minute, as a DaemonSet rolls out.
                if (t >= (long) i * 60_000 / AGENTS && reporters.get(i).offer(statuses.get(i)) && t >= outageTo * 1000) {
                    writesAfter[i]++;
                }
            }
        }
        double idle = server.rate(outageFrom - 60, outageFrom);
        double peakAfter = server.peak(outageTo, end);
        System.out.printf("status writes: idle %.1f/s, busiest 10 s after the recovery %.1f/s (%.2fx)%n", idle, peakAfter, peakAfter / idle);
        assertThat(idle).as("idle: one heartbeat a minute per agent").isBetween(AGENTS / 60.0 * 0.9, AGENTS / 60.0 * 1.1);
        assertThat(peakAfter).as("busiest 10 s after the recovery, writes/s, against %.1f idle", idle).isLessThanOrEqualTo(2 * idle);
        for (int i = 0; i < AGENTS; i++) {
            assertThat(writesAfter[i]).as("agent %d wrote again after the outage", i).isPositive();
        }
    }
}
