package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.core.AutoRaisePlanner.Decision;
import dev.conntrack.agent.core.AutoRaisePlanner.Limit;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.kernel.TableMemory;
import org.junit.jupiter.api.Test;

class AutoRaisePlannerTest {
    private static final long OBJ = 256;
    /**
     * The README's numbers, as literals so that a changed constant fails here: a storm brings
     * 250,000 new entries/s, the agent needs 10 ms to answer, so 2,500 entries stay free below the
     * watermark, and a table with less room is raised at once to 2 x 2,500 / 80% + 1 = 6,251.
     */
    private static final long HEADROOM = 2_500;

    private static AutoscaleSpec spec(Integer ceiling, String budget) {
        AutoscaleSpec s = new AutoscaleSpec();
        s.setEnabled(true);
        s.setCeiling(ceiling);
        s.setMemoryBudget(budget);
        return s;
    }

    @Test
    void belowTheWatermarkWithoutDropsNothingHappens() {
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 79_900 - HEADROOM, 100_000, 262144, false, OBJ, 0);
        assertThat(d.raise()).isFalse();
        assertThat(d.limitedBy()).isEqualTo(Limit.None);
    }

    @Test
    void atTheWatermarkMaxDoublesAndBucketsStayWhenThereAreEnough() {
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 80_000, 100_000, 262144, false, OBJ, 0);
        assertThat(d.raise()).isTrue();
        assertThat(d.newMax()).isEqualTo(200_000);
        assertThat(d.newBuckets()).isEqualTo(262144);
        assertThat(d.message()).contains("100000 -> 200000").contains("usage 80% >= 80%");
    }

    @Test
    void dropsRaiseEvenBelowTheWatermarkAndTheStepAndWatermarkAreHonoured() {
        AutoscaleSpec s = spec(1_000_000, null);
        s.setStep(1.5);
        s.setHighWatermarkPercent(50);
        assertThat(AutoRaisePlanner.plan(s, 100, 100_000, 262144, true, OBJ, 0).newMax()).isEqualTo(150_000);
        // A table far past the watermark gets enough room to drop back under it (with the storm headroom), not just one step.
        assertThat(AutoRaisePlanner.plan(s, 100_000, 100_000, 262144, false, OBJ, 0).newMax())
                .isEqualTo((100_000 + 2 * HEADROOM) * 2 + 1);
    }

    @Test
    void bucketsFollowWhenTheTableWouldExceedEightEntriesPerBucket() {
        Decision d = AutoRaisePlanner.plan(spec(10_000_000, null), 900_000, 1_000_000, 131072, false, OBJ, 0);
        assertThat(d.newMax()).isEqualTo(2_000_000);
        assertThat(d.newBuckets()).isEqualTo(500_000);
    }

    @Test
    void theCeilingHoldsAndIsReportedWhenReached() {
        Decision partial = AutoRaisePlanner.plan(spec(150_000, null), 90_000, 100_000, 262144, false, OBJ, 0);
        assertThat(partial.raise()).isTrue();
        assertThat(partial.newMax()).isEqualTo(150_000);
        assertThat(partial.limitedBy()).isEqualTo(Limit.Ceiling);

        Decision none = AutoRaisePlanner.plan(spec(150_000, null), 140_000, 150_000, 262144, true, OBJ, 0);
        assertThat(none.raise()).isFalse();
        assertThat(none.limitedBy()).isEqualTo(Limit.Ceiling);
        assertThat(none.message()).contains("ceiling 150000 reached");
    }

    @Test
    void theMemoryBudgetBoundsMaxAndBucketsTogether() {
        // 1 MiB budget: 262144 buckets alone take 4 MiB, so use a small bucket table.
        Decision d = AutoRaisePlanner.plan(spec(null, "1Mi"), 3000, 3000, 1024, true, OBJ, 0);
        assertThat(d.raise()).isTrue();
        assertThat(TableMemory.estimate(d.newMax(), d.newBuckets(), OBJ)).isLessThanOrEqualTo(1024 * 1024);
        long oneMore = d.newMax() + 1;
        assertThat(TableMemory.estimate(oneMore, AutoRaisePlanner.bucketsFor(oneMore, 1024), OBJ)).isGreaterThan(1024 * 1024);
        assertThat(d.limitedBy()).isEqualTo(Limit.MemoryBudget);

        Decision full = AutoRaisePlanner.plan(spec(null, "1Mi"), d.newMax(), d.newMax(), d.newBuckets(), true, OBJ, 0);
        assertThat(full.raise()).isFalse();
        assertThat(full.limitedBy()).isEqualTo(Limit.MemoryBudget);
        assertThat(full.message()).contains("memory budget 1Mi reached");
    }

    @Test
    void theStormAndItsHeadroomAreTheDocumentedNumbers() {
        assertThat(AutoRaisePlanner.STORM_PER_SECOND).isEqualTo(250_000.0);
        assertThat(AutoRaisePlanner.MIN_HEADROOM).isEqualTo(2_500L);
    }

    @Test
    void theWatermarkIsReachedAtExactlyItsPercentAndAZeroMaxIsNeverAbove() {
        assertThat(AutoRaisePlanner.aboveWatermark(spec(null, null), 80_000, 100_000)).isTrue();
        assertThat(AutoRaisePlanner.aboveWatermark(spec(null, null), 79_999, 100_000)).isFalse();
        assertThat(AutoRaisePlanner.aboveWatermark(spec(null, null), 0, 0)).as("max unreadable").isFalse();
    }

    @Test
    void bucketsFollowOnlyAboveEightEntriesPerBucket() {
        assertThat(AutoRaisePlanner.bucketsFor(8 * 2048, 2048)).isEqualTo(2048);
        assertThat(AutoRaisePlanner.bucketsFor(9000, 2048)).isEqualTo(2048);
        assertThat(AutoRaisePlanner.bucketsFor(8 * 2048 + 1, 2048)).isEqualTo((8 * 2048 + 4) / 4);
    }

    @Test
    void theMessageSaysWhatChangedAndWhatHeldItBack() {
        Decision step = AutoRaisePlanner.plan(spec(1_000_000, null), 80_000, 100_000, 262144, false, OBJ, 0);
        assertThat(step.message()).isEqualTo("raised max 100000 -> 200000 (usage 80% >= 80%)");
        Decision withBuckets = AutoRaisePlanner.plan(spec(10_000_000, null), 900_000, 1_000_000, 131072, false, OBJ, 0);
        assertThat(withBuckets.message()).isEqualTo("raised max 1000000 -> 2000000, buckets 131072 -> 500000 (usage 90% >= 80%)");
        Decision ceiling = AutoRaisePlanner.plan(spec(150_000, null), 90_000, 100_000, 262144, true, OBJ, 0);
        assertThat(ceiling.message()).isEqualTo("raised max 100000 -> 150000 (drops; held at the ceiling)");
        Decision budget = AutoRaisePlanner.plan(spec(null, "1Mi"), 3000, 3000, 1024, true, OBJ, 0);
        assertThat(budget.message()).endsWith("(drops; held at the memory budget)");
    }

    @Test
    void aRaiseThatLandsExactlyOnABoundWasNotHeldBackByIt() {
        Decision onCeiling = AutoRaisePlanner.plan(spec(200_000, null), 80_000, 100_000, 262144, false, OBJ, 0);
        assertThat(onCeiling.newMax()).isEqualTo(200_000);
        assertThat(onCeiling.limitedBy()).isEqualTo(Limit.None);
        // 200,000 entries x 256 B + 262,144 buckets x 16 B = 55,394,304 bytes: exactly the budget.
        Decision onBudget = AutoRaisePlanner.plan(spec(null, "55394304"), 80_000, 100_000, 262144, false, OBJ, 0);
        assertThat(onBudget.newMax()).isEqualTo(200_000);
        assertThat(onBudget.limitedBy()).isEqualTo(Limit.None);
        assertThat(onBudget.message()).doesNotContain("held");
    }

    @Test
    void growthTheStepAlreadyCoversIsNotCalledSizingForGrowth() {
        // 80,000 + 80,000/s in one second = 160,000, 80% of 200,000: the step to 200,000 holds it exactly.
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 80_000, 100_000, 262144, false, OBJ, 80_000);
        assertThat(d.newMax()).isEqualTo(200_000);
        assertThat(d.message()).doesNotContain("sized for");
        assertThat(AutoRaisePlanner.plan(spec(1_000_000, null), 80_000, 100_000, 262144, false, OBJ, 80_001).message())
                .contains("sized for 1 s of growth at 80001 entries/s");
    }

    @Test
    void slowGrowthWithinTheStormHeadroomIsCalledLackOfHeadroom() {
        // 78,000 of 100,000 and growing slowly: not above the watermark, but within 2,500 of it.
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 78_000, 100_000, 262144, false, OBJ, 100);
        assertThat(d.raise()).isTrue();
        assertThat(d.message()).contains("(fewer than 2500 entries left below the watermark, what a connection storm fills in 10 ms)");
    }

    @Test
    void enabledNeedsTrue() {
        assertThat(AutoRaisePlanner.enabled(null)).isFalse();
        assertThat(AutoRaisePlanner.enabled(new AutoscaleSpec())).isFalse();
        assertThat(AutoRaisePlanner.enabled(spec(10, null))).isTrue();
    }

    @Test
    void growthAboutToCrossTheWatermarkRaisesAheadOfItSizedForOneSecondOfGrowth() {
        // 500 of 1000 and 20,000 new entries/s: at the watermark within the lookahead (20 ms = 400 entries).
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 50_000, 100_000, 262144, false, OBJ, 2_000_000);
        assertThat(d.raise()).isTrue();
        // one second of growth (2,050,000 entries) under the 80% watermark, beyond one step (200,000)
        assertThat(d.newMax()).isEqualTo(1_000_000);
        assertThat(d.limitedBy()).isEqualTo(Limit.Ceiling);
        Decision unbounded = AutoRaisePlanner.plan(spec(10_000_000, null), 50_000, 100_000, 262144, false, OBJ, 2_000_000);
        assertThat(unbounded.newMax()).isEqualTo(2_562_500);
        assertThat(unbounded.message()).contains("(usage 50% and growing 2000000 entries/s").contains("sized for 1 s of growth");
    }

    @Test
    void slowGrowthBelowTheWatermarkWaits() {
        assertThat(AutoRaisePlanner.dueToRaise(spec(1_000_000, null), 50_000, 100_000, 10_000)).isFalse();
        assertThat(AutoRaisePlanner.plan(spec(1_000_000, null), 50_000, 100_000, 262144, false, OBJ, 10_000).raise()).isFalse();
        // Shrinking or unknown growth is the watermark check with the storm headroom.
        long justBelow = 80_000 - HEADROOM - 1;
        assertThat(AutoRaisePlanner.dueToRaise(spec(1_000_000, null), justBelow, 100_000, -5000)).isFalse();
        assertThat(AutoRaisePlanner.dueToRaise(spec(1_000_000, null), justBelow + 1, 100_000, 0)).isTrue();
    }

    @Test
    void slowGrowthAtTheWatermarkKeepsTheStep() {
        Decision d = AutoRaisePlanner.plan(spec(1_000_000, null), 80_000, 100_000, 262144, false, OBJ, 100);
        assertThat(d.newMax()).isEqualTo(200_000);
        assertThat(d.message()).doesNotContain("sized for");
    }

    @Test
    void growthSizingStillStopsAtTheCeilingAndTheMemoryBudget() {
        Decision capped = AutoRaisePlanner.plan(spec(50_000, null), 5_000, 10_000, 262144, false, OBJ, 70_000);
        assertThat(capped.newMax()).isEqualTo(50_000);
        assertThat(capped.limitedBy()).isEqualTo(Limit.Ceiling);
        Decision budget = AutoRaisePlanner.plan(spec(null, "8Mi"), 5_000, 10_000, 1024, false, OBJ, 70_000);
        assertThat(budget.limitedBy()).isEqualTo(Limit.MemoryBudget);
        assertThat(TableMemory.estimate(budget.newMax(), budget.newBuckets(), OBJ)).isLessThanOrEqualTo(8L << 20);
    }

    @Test
    void aTableTooSmallToWatchIsRaisedAtOnceToTwiceTheStormHeadroomThenLeftAlone() {
        // 1,000 entries fill in 4 ms at a connection storm: no poll can defend them.
        Decision d = AutoRaisePlanner.plan(spec(262144, null), 0, 1000, 262144, false, OBJ, 0);
        assertThat(d.raise()).isTrue();
        assertThat(d.newMax()).isEqualTo(6_251);
        assertThat(d.message()).contains("fewer than 2500 entries left below the watermark");
        // Once raised, an idle table stays where it is.
        assertThat(AutoRaisePlanner.dueToRaise(spec(262144, null), 0, d.newMax(), 0)).isFalse();
        assertThat(AutoRaisePlanner.dueToRaise(spec(262144, null), 100, d.newMax(), 0)).isFalse();
    }
}
