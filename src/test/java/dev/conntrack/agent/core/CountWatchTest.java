package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.AutoscaleSpec;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What the count watcher looks for between polls, and how often it reads. */
class CountWatchTest {
    private static final Duration ONE_SECOND = Duration.ofSeconds(1);

    private static AutoscaleSpec autoscale() {
        AutoscaleSpec a = new AutoscaleSpec();
        a.setEnabled(true);
        a.setCeiling(262144);
        return a;
    }

    @Test
    void pollsFasterAsTheTableFills() {
        // A large table with room: the slowest interval.
        assertThat(CountWatch.intervalMillis(0, 262144, 80, 0)).isEqualTo(10);
        // An empty 5,000-entry table reaches its watermark in 16 ms at the assumed storm: half of it.
        assertThat(CountWatch.intervalMillis(0, 5000, 80, 0)).isEqualTo(8);
        assertThat(CountWatch.intervalMillis(2500, 5000, 80, 0)).isEqualTo(3);
        assertThat(CountWatch.intervalMillis(3500, 5000, 80, 0)).isEqualTo(2);
        assertThat(CountWatch.intervalMillis(0, 1000, 80, 0)).isEqualTo(2);
        assertThat(CountWatch.intervalMillis(0, 5000, 30, 0)).isEqualTo(3);
        // Above the watermark (a raise is on its way or held at a bound): the fastest.
        assertThat(CountWatch.intervalMillis(4500, 5000, 80, 0)).isEqualTo(2);
    }

    @Test
    void aMeasuredGrowthFasterThanTheAssumedStormShortensTheInterval() {
        assertThat(CountWatch.intervalMillis(0, 10000, 80, 0)).isEqualTo(10);
        assertThat(CountWatch.intervalMillis(0, 10000, 80, 1_000_000)).isEqualTo(4);
    }

    @Test
    void watchingForDropsOnlyReadsAtHalfTheTimeAStormTakesToFillTheTable() {
        // 25,000 free entries: a storm (250,000/s) fills them in 100 ms.
        assertThat(new CountWatch(true, 25_000, null, 90, false).intervalMillis(0, 0)).isEqualTo(50);
        assertThat(new CountWatch(true, 25_000, null, 90, false).intervalMillis(12_500, 0)).isEqualTo(25);
        assertThat(new CountWatch(true, 25_000, null, 90, false).intervalMillis(0, 500_000)).as("faster growth seen").isEqualTo(25);
        assertThat(new CountWatch(true, 262_144, null, 90, false).intervalMillis(0, 0)).as("at most 100 ms").isEqualTo(100);
        assertThat(new CountWatch(true, 1_000, null, 90, false).intervalMillis(0, 0)).as("at least 10 ms").isEqualTo(10);
        // With auto-raise, the watermark's 2-10 ms.
        assertThat(new CountWatch(true, 5_000, autoscale(), 80, false).intervalMillis(2_500, 0)).isEqualTo(3);
    }

    @Test
    void objectsPilingUpOutsideTheWatchedTableAtTheAttentionLevelCallForAScan() {
        CountWatch watch = new CountWatch(true, 1_000, null, 80, false);
        assertThat(watch.unattributed(799, 800)).isTrue();
        assertThat(watch.unattributed(799, 799)).isFalse();
        assertThat(watch.unattributed(800, 900)).as("the watched table holds them").isFalse();
    }

    @Test
    void armedWhenAStormWouldFillTheTableBeforeTheNextPoll() {
        AutoRaise off = new AutoRaise();
        assertThat(CountWatch.after(PollCycleTest.sample(0, 0, 0, 0), off, 90, ONE_SECOND, false))
                .as("no max read: nothing to watch").isSameAs(CountWatch.DISARMED);
        // 250,000 free entries: a storm needs the whole second; 100,000 entries in, it needs 0.65 s.
        assertThat(CountWatch.after(PollCycleTest.sample(0, 0, 250_000, 0), off, 90, ONE_SECOND, false).armed()).isFalse();
        assertThat(CountWatch.after(PollCycleTest.sample(0, 1, 250_000, 0), off, 90, ONE_SECOND, false).armed()).isTrue();
        CountWatch fuller = CountWatch.after(PollCycleTest.sample(0, 100_000, 262_144, 0), off, 90, ONE_SECOND, false);
        assertThat(fuller.armed()).isTrue();
        assertThat(fuller.attentionPercent()).isEqualTo(90);
        assertThat(CountWatch.after(PollCycleTest.sample(0, 100_000, 262_144, 0), off, 90, ONE_SECOND, true).armed())
                .as("TableFull reported already").isFalse();
    }
}
