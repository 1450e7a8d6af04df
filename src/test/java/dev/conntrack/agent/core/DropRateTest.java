package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.kernel.ConntrackStats;
import dev.conntrack.kernel.ConntrackStatsParser;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.StatCounter;
import dev.conntrack.kernel.TableSnapshot;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class DropRateTest {
    private static final long SECOND = 1_000_000_000L;

    private static PollSample sample(long nanos, ConntrackStats stats, long count, long max, OptionalLong logLines) {
        return new PollSample(nanos, Optional.ofNullable(stats),
                new TableSnapshot(OptionalLong.of(count), OptionalLong.of(max), OptionalLong.of(262144), List.of()), logLines);
    }

    private static ConntrackStats drops(long drop) {
        return ConntrackStats.builder(ConntrackStats.Source.PROCFS).add(StatCounter.DROP, drop).endCpuLine().build();
    }

    @Test
    void fixturesGiveTheDropRateOverTheInterval() {
        ConntrackStatsParser parser = new ConntrackStatsParser();
        ConntrackStats idle = parser.parse(FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt"));
        ConntrackStats full = parser.parse(FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        long expected = full.drop().getAsLong() - idle.drop().getAsLong();

        DropRate rate = DropRate.between(sample(5 * SECOND, idle, 3, 1000, OptionalLong.empty()),
                sample(7 * SECOND, full, 1000, 1000, OptionalLong.empty()));

        assertThat(rate.interval()).isEqualTo(Duration.ofSeconds(2));
        assertThat(rate.dropsDelta()).hasValue(expected);
        assertThat(rate.dropsPerSecond()).hasValue(expected / 2.0);
        assertThat(rate.tableFull()).isTrue();
    }

    @Test
    void noDropsNoTableFull() {
        DropRate rate = DropRate.between(sample(0, drops(10), 1, 100, OptionalLong.of(4)),
                sample(SECOND, drops(10), 1, 100, OptionalLong.of(4)));
        assertThat(rate.dropsDelta()).hasValue(0);
        assertThat(rate.dropsPerSecond()).hasValue(0.0);
        assertThat(rate.tableFullLogLinesDelta()).hasValue(0);
        assertThat(rate.tableFull()).isFalse();
    }

    @Test
    void kernelLogAloneMarksTableFull() {
        DropRate rate = DropRate.between(sample(0, null, 1, 100, OptionalLong.of(4)),
                sample(SECOND, null, 1, 100, OptionalLong.of(9)));
        assertThat(rate.dropsDelta()).isEmpty();
        assertThat(rate.tableFullLogLinesDelta()).hasValue(5);
        assertThat(rate.tableFull()).isTrue();
    }

    @Test
    void firstSampleAndCounterResetGiveNoDelta() {
        assertThat(DropRate.between(null, sample(0, drops(5), 1, 100, OptionalLong.empty()))).isEqualTo(DropRate.UNKNOWN);
        DropRate reset = DropRate.between(sample(0, drops(500), 1, 100, OptionalLong.empty()),
                sample(SECOND, drops(3), 1, 100, OptionalLong.empty()));
        assertThat(reset.dropsDelta()).isEmpty();
        assertThat(reset.tableFull()).isFalse();
    }

    @Test
    void usagePercentRoundedToOneDecimal() {
        assertThat(sample(0, null, 1000, 1000, OptionalLong.empty()).usagePercent()).hasValue(100.0);
        assertThat(PollSample.usagePercent(1, 3)).hasValue(33.3);
        assertThat(PollSample.usagePercent(2, 3)).hasValue(66.7);
        assertThat(PollSample.usagePercent(104857, 131072)).hasValue(80.0);
        assertThat(PollSample.usagePercent(5, 0)).isEmpty();
        PollSample unknownMax = new PollSample(0, Optional.empty(),
                new TableSnapshot(OptionalLong.of(5), OptionalLong.empty(), OptionalLong.empty(), List.of("x")), OptionalLong.empty());
        assertThat(unknownMax.usagePercent()).isEmpty();
    }
}
