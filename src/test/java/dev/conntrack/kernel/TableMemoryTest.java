package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.OptionalInt;
import org.junit.jupiter.api.Test;

/** The table memory estimate of docs/node-state.md: max x object size (from /proc/slabinfo, else 320) + buckets x 16. */
class TableMemoryTest {
    @Test
    void theQuickStartsEstimateFromTheSlabinfoObjectSize() {
        // docs/node-state.md, the observe-only status: max 262144, buckets 262144, object size 256 on kernel 6.18.
        int objectSize = SlabInfo.parse(FakeHost.fixture("proc-slabinfo.nf_conntrack.txt")).getAsInt();
        assertThat(TableMemory.estimate(262144, 262144, OptionalInt.of(objectSize))).isEqualTo(71_303_168L);
    }

    @Test
    void withoutSlabinfoEachEntryCounts320Bytes() {
        assertThat(TableMemory.estimate(1000, 0, OptionalInt.empty())).isEqualTo(320_000L);
        assertThat(TableMemory.estimate(0, 1000, OptionalInt.empty())).isEqualTo(16_000L);
    }

    @Test
    void anOverflowIsAnErrorNotANegativeSize() {
        assertThatThrownBy(() -> TableMemory.estimate(Long.MAX_VALUE / 2, 0, 256)).isInstanceOf(ArithmeticException.class);
    }
}
