package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.core.AutoRaisePlanner.Decision;
import dev.conntrack.agent.core.AutoRaisePlanner.Limit;
import dev.conntrack.api.AutoscaleSpec;
import dev.conntrack.kernel.TableMemory;
import org.junit.jupiter.api.Test;

class AutoRaisePlannerTest {
    private static final long OBJ = 256;

    private static AutoscaleSpec spec(Integer ceiling, String budget) {
        AutoscaleSpec s = new AutoscaleSpec();
        s.setEnabled(true);
        s.setCeiling(ceiling);
        s.setMemoryBudget(budget);
        return s;
    }

    @Test
    void belowTheWatermarkWithoutDropsNothingHappens() {
        Decision d = AutoRaisePlanner.plan(spec(100000, null), 799, 1000, 262144, false, OBJ);
        assertThat(d.raise()).isFalse();
        assertThat(d.limitedBy()).isEqualTo(Limit.None);
    }

    @Test
    void atTheWatermarkMaxDoublesAndBucketsStayWhenThereAreEnough() {
        Decision d = AutoRaisePlanner.plan(spec(100000, null), 800, 1000, 262144, false, OBJ);
        assertThat(d.raise()).isTrue();
        assertThat(d.newMax()).isEqualTo(2000);
        assertThat(d.newBuckets()).isEqualTo(262144);
        assertThat(d.message()).contains("1000 -> 2000").contains("usage 80% >= 80%");
    }

    @Test
    void dropsRaiseEvenBelowTheWatermarkAndTheStepAndWatermarkAreHonoured() {
        AutoscaleSpec s = spec(1_000_000, null);
        s.setStep(1.5);
        s.setHighWatermarkPercent(50);
        assertThat(AutoRaisePlanner.plan(s, 100, 1000, 262144, true, OBJ).newMax()).isEqualTo(1500);
        // A table far past the watermark gets enough room to drop back under it, not just one step.
        assertThat(AutoRaisePlanner.plan(s, 1000, 1000, 262144, false, OBJ).newMax()).isEqualTo(2001);
    }

    @Test
    void bucketsFollowWhenTheTableWouldExceedEightEntriesPerBucket() {
        Decision d = AutoRaisePlanner.plan(spec(10_000_000, null), 900_000, 1_000_000, 131072, false, OBJ);
        assertThat(d.newMax()).isEqualTo(2_000_000);
        assertThat(d.newBuckets()).isEqualTo(500_000);
    }

    @Test
    void theCeilingHoldsAndIsReportedWhenReached() {
        Decision partial = AutoRaisePlanner.plan(spec(1500, null), 900, 1000, 262144, false, OBJ);
        assertThat(partial.raise()).isTrue();
        assertThat(partial.newMax()).isEqualTo(1500);
        assertThat(partial.limitedBy()).isEqualTo(Limit.Ceiling);

        Decision none = AutoRaisePlanner.plan(spec(1500, null), 1400, 1500, 262144, true, OBJ);
        assertThat(none.raise()).isFalse();
        assertThat(none.limitedBy()).isEqualTo(Limit.Ceiling);
        assertThat(none.message()).contains("ceiling 1500 reached");
    }

    @Test
    void theMemoryBudgetBoundsMaxAndBucketsTogether() {
        // 1 MiB budget: 262144 buckets alone take 4 MiB, so use a small bucket table.
        Decision d = AutoRaisePlanner.plan(spec(null, "1Mi"), 3000, 3000, 1024, true, OBJ);
        assertThat(d.raise()).isTrue();
        assertThat(TableMemory.estimate(d.newMax(), d.newBuckets(), OBJ)).isLessThanOrEqualTo(1024 * 1024);
        assertThat(TableMemory.estimate(d.newMax() + 1, d.newBuckets(), OBJ)).isGreaterThan(1024 * 1024);
        assertThat(d.limitedBy()).isEqualTo(Limit.MemoryBudget);

        Decision full = AutoRaisePlanner.plan(spec(null, "1Mi"), d.newMax(), d.newMax(), d.newBuckets(), true, OBJ);
        assertThat(full.raise()).isFalse();
        assertThat(full.limitedBy()).isEqualTo(Limit.MemoryBudget);
        assertThat(full.message()).contains("memory budget 1Mi reached");
    }

    @Test
    void enabledNeedsTrue() {
        assertThat(AutoRaisePlanner.enabled(null)).isFalse();
        assertThat(AutoRaisePlanner.enabled(new AutoscaleSpec())).isFalse();
        assertThat(AutoRaisePlanner.enabled(spec(10, null))).isTrue();
    }
}
