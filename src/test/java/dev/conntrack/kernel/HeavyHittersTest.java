package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class HeavyHittersTest {

    @Test
    void belowCapacityCountsAreExact() {
        HeavyHitters hh = new HeavyHitters(16, 64);
        Map<String, Long> truth = new HashMap<>();
        Random random = new Random(7);
        for (int i = 0; i < 5000; i++) {
            String key = "10.0.0." + random.nextInt(16);
            hh.add(key);
            truth.merge(key, 1L, Long::sum);
        }

        assertThat(hh.exact()).isTrue();
        assertThat(hh.errorBound()).isZero();
        assertThat(hh.total()).isEqualTo(5000);
        List<HeavyHitters.Top> all = hh.top(100);
        assertThat(all).hasSize(truth.size());
        for (HeavyHitters.Top t : all) {
            assertThat(t.count()).as(t.key()).isEqualTo(truth.get(t.key()));
            assertThat(t.maxOverestimate()).isZero();
        }
        assertThat(all).extracting(HeavyHitters.Top::count).isSortedAccordingTo(Collections.reverseOrder());
    }

    /**
     * A stream with a known top 10 (counts 9500, 9000, ... 5000) hidden in 150,000 one-off keys, shuffled,
     * through only 1024 counters: Space-Saving must find exactly those 10, in order, each count
     * within its stated overestimate, and the stated bound must hold (<= N / m).
     */
    @Test
    void findsTheKnownTopTenInAStreamOfManyDistinctKeys() {
        List<String> stream = new ArrayList<>();
        Map<String, Long> truth = new HashMap<>();
        List<String> heavy = new ArrayList<>();
        for (int k = 0; k < 10; k++) {
            String key = "192.168.1." + (100 + k);
            heavy.add(key);
            int count = 9500 - 500 * k;
            for (int i = 0; i < count; i++) {
                stream.add(key);
            }
            truth.put(key, (long) count);
        }
        for (int i = 0; i < 150_000; i++) {
            String key = "10." + (i >> 16) + "." + ((i >> 8) & 255) + "." + (i & 255);
            stream.add(key);
            truth.merge(key, 1L, Long::sum);
        }
        Collections.shuffle(stream, new Random(42));
        int counters = 1024;
        HeavyHitters hh = new HeavyHitters(counters, 64);

        stream.forEach(hh::add);

        long n = stream.size();
        assertThat(hh.exact()).isFalse();
        assertThat(hh.errorBound()).isPositive().isLessThanOrEqualTo(n / counters);
        List<HeavyHitters.Top> top = hh.top(10);
        assertThat(top).extracting(HeavyHitters.Top::key).containsExactlyElementsOf(heavy);
        for (HeavyHitters.Top t : top) {
            long real = truth.get(t.key());
            assertThat(t.count()).as(t.key()).isBetween(real, real + t.maxOverestimate());
            assertThat(t.guaranteedCount()).isLessThanOrEqualTo(real);
            assertThat(t.maxOverestimate()).isLessThanOrEqualTo(n / counters);
        }
    }

    /** Evictions move keys around the open-addressing table: every key must stay findable and unique. */
    @Test
    void evictionsKeepTheTableConsistent() {
        HeavyHitters hh = new HeavyHitters(8, 64);
        Random random = new Random(3);
        long added = 0;
        for (int i = 0; i < 100_000; i++) {
            // Three hot keys (25% each, above N / m = 12.5%, so guaranteed to be kept) and a long
            // tail that keeps evicting and re-entering.
            String key = random.nextInt(4) != 0 ? "hot" + random.nextInt(3) : "tail" + random.nextInt(500);
            hh.add(key);
            added++;
        }

        List<HeavyHitters.Top> all = hh.top(8);
        Set<String> keys = new HashSet<>();
        long sum = 0;
        for (HeavyHitters.Top t : all) {
            assertThat(keys.add(t.key())).as("duplicate key %s: a lookup missed it", t.key()).isTrue();
            sum += t.count();
        }
        assertThat(all).hasSize(8);
        // Space-Saving keeps the sum of the counters equal to the number of keys added.
        assertThat(sum).isEqualTo(added);
        assertThat(all.subList(0, 3)).extracting(HeavyHitters.Top::key).containsExactlyInAnyOrder("hot0", "hot1", "hot2");
        // A key still counted is found again: adding it once more changes its own counter only.
        long before = hh.top(8).stream().filter(t -> t.key().equals("hot1")).findFirst().orElseThrow().count();
        hh.add("hot1");
        assertThat(hh.top(8).stream().filter(t -> t.key().equals("hot1")).findFirst().orElseThrow().count()).isEqualTo(before + 1);
        assertThat(hh.top(8)).extracting(HeavyHitters.Top::key).doesNotHaveDuplicates();
    }

    @Test
    void keysAreComparedByBytesNotByPrefix() {
        HeavyHitters hh = new HeavyHitters(4, 64);
        byte[] line = "src=10.0.0.1 src=10.0.0.10 src=10.0.0.1".getBytes();

        hh.add(line, 4, 8);
        hh.add(line, 17, 9);
        hh.add(line, 31, 8);

        assertThat(hh.top(10)).containsExactly(new HeavyHitters.Top("10.0.0.1", 2, 0), new HeavyHitters.Top("10.0.0.10", 1, 0));
    }

    @Test
    void rejectsKeysLongerThanConfiguredAndNonsenseSizes() {
        HeavyHitters hh = new HeavyHitters(4, 8);
        assertThatThrownBy(() -> hh.add("123456789")).hasMessageContaining("longer than 8");
        assertThatThrownBy(() -> new HeavyHitters(0, 8)).hasMessageContaining("capacity");
        assertThatThrownBy(() -> new HeavyHitters(4, 0)).hasMessageContaining("maxKeyLength");
    }
}
