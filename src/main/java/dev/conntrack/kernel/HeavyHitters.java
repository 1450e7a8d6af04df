package dev.conntrack.kernel;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Counts byte-string keys (addresses as the kernel prints them, state names) in memory fixed at
 * construction, however many distinct keys the stream holds.
 *
 * <p>Exact while at most {@code capacity} distinct keys have been seen: a plain hash count. The
 * first key that does not fit switches to Space-Saving (Metwally, Agrawal, El Abbadi 2005): the
 * key with the smallest count is evicted and the newcomer takes over its counter, starting at that
 * count + 1 and remembering the inherited count as its possible overestimate. Guarantees after N
 * keys with m = capacity counters, exactly as the paper proves them:
 * <ul>
 *   <li>every reported count is at least the key's true count and overestimates it by at most the
 *       inherited count, itself at most N / m ({@link Top#maxOverestimate()});</li>
 *   <li>every key whose true count exceeds N / m is among the counters, so a true top-10 key that
 *       holds more than N / m entries is never missed.</li>
 * </ul>
 * With the default 8192 counters and a 1,000,000-entry table the bound is 122 entries; a key that
 * dominates a table (the case worth reporting) is thousands of times above it.
 *
 * <p>Adding a known key allocates nothing: keys live in one byte arena, looked up through an
 * open-addressing table with linear probing (backward-shift deletion, so evictions leave no
 * tombstones). A min-heap over the counters is built only at the switch to Space-Saving. Not
 * thread-safe.
 */
public final class HeavyHitters {
    /** One reported key: TRUE count lies in [count - maxOverestimate, count]. */
    public record Top(String key, long count, long maxOverestimate) {
        /** The count the key is guaranteed to have. */
        public long guaranteedCount() {
            return count - maxOverestimate;
        }
    }

    private final int capacity;
    private final int maxKeyLength;
    private final byte[] arena;
    private final int[] keyLengths;
    private final int[] hashes;
    private final long[] counts;
    private final long[] errors;
    /** slot + 1 per cell, 0 when empty. */
    private final int[] table;
    private final int mask;
    private int size;
    private long total;
    private int[] heap;
    private int[] heapPosition;

    /**
     * @param capacity     counters kept (memory ~ capacity x (maxKeyLength + 32) bytes)
     * @param maxKeyLength longest key accepted, in bytes
     */
    public HeavyHitters(int capacity, int maxKeyLength) {
        if (capacity < 1 || capacity > (1 << 24)) {
            throw new IllegalArgumentException("capacity must be 1..16777216: " + capacity);
        }
        if (maxKeyLength < 1 || maxKeyLength > 1024) {
            throw new IllegalArgumentException("maxKeyLength must be 1..1024: " + maxKeyLength);
        }
        this.capacity = capacity;
        this.maxKeyLength = maxKeyLength;
        this.arena = new byte[capacity * maxKeyLength];
        this.keyLengths = new int[capacity];
        this.hashes = new int[capacity];
        this.counts = new long[capacity];
        this.errors = new long[capacity];
        int cells = Integer.highestOneBit(capacity * 2 - 1) << 1; // load factor <= 0.5
        this.table = new int[Math.max(2, cells)];
        this.mask = table.length - 1;
    }

    public int maxKeyLength() {
        return maxKeyLength;
    }

    /** Counts one occurrence of BUF[OFF, OFF + LEN). */
    public void add(byte[] buf, int off, int len) {
        if (len > maxKeyLength) {
            throw new IllegalArgumentException("key of " + len + " bytes, longer than " + maxKeyLength);
        }
        total++;
        int hash = hash(buf, off, len);
        int cell = hash & mask;
        while (true) {
            int entry = table[cell];
            if (entry == 0) {
                break;
            }
            int slot = entry - 1;
            if (hashes[slot] == hash && equalsKey(slot, buf, off, len)) {
                counts[slot]++;
                if (heap != null) {
                    siftDown(heapPosition[slot]);
                }
                return;
            }
            cell = (cell + 1) & mask;
        }
        if (size < capacity) {
            int slot = size++;
            storeKey(slot, buf, off, len, hash);
            counts[slot] = 1;
            table[cell] = slot + 1;
            return;
        }
        if (heap == null) {
            buildHeap();
        }
        // Space-Saving: the smallest counter changes hands.
        int slot = heap[0];
        removeFromTable(slot);
        storeKey(slot, buf, off, len, hash);
        errors[slot] = counts[slot];
        counts[slot]++;
        insertIntoTable(slot);
        siftDown(0);
    }

    public void add(String key) {
        byte[] bytes = key.getBytes(StandardCharsets.UTF_8);
        add(bytes, 0, bytes.length);
    }

    /** Keys added so far (N). */
    public long total() {
        return total;
    }

    /** Distinct keys currently held (at most capacity). */
    public int size() {
        return size;
    }

    /** True while no key was ever evicted: every count is the true count. */
    public boolean exact() {
        return heap == null;
    }

    /** Largest possible overestimate of any count: 0 while exact, else the smallest counter (<= N / m). */
    public long errorBound() {
        return heap == null ? 0 : counts[heap[0]];
    }

    /** The K largest counts, largest first, ties by key, so the order is the same on every run. */
    public List<Top> top(int k) {
        Integer[] slots = new Integer[size];
        for (int i = 0; i < size; i++) {
            slots[i] = i;
        }
        Comparator<Integer> byCount = Comparator.comparingLong((Integer s) -> counts[s]).reversed()
                .thenComparing(s -> keyString(s));
        Arrays.sort(slots, byCount);
        List<Top> out = new ArrayList<>(Math.min(k, size));
        for (int i = 0; i < Math.min(k, size); i++) {
            int s = slots[i];
            out.add(new Top(keyString(s), counts[s], errors[s]));
        }
        return out;
    }

    private String keyString(int slot) {
        return new String(arena, slot * maxKeyLength, keyLengths[slot], StandardCharsets.UTF_8);
    }

    private void storeKey(int slot, byte[] buf, int off, int len, int hash) {
        System.arraycopy(buf, off, arena, slot * maxKeyLength, len);
        keyLengths[slot] = len;
        hashes[slot] = hash;
    }

    private boolean equalsKey(int slot, byte[] buf, int off, int len) {
        if (keyLengths[slot] != len) {
            return false;
        }
        int base = slot * maxKeyLength;
        return Arrays.equals(arena, base, base + len, buf, off, off + len);
    }

    private void insertIntoTable(int slot) {
        int cell = hashes[slot] & mask;
        while (table[cell] != 0) {
            cell = (cell + 1) & mask;
        }
        table[cell] = slot + 1;
    }

    /** Linear-probing deletion by backward shift: later entries of the run move up so lookups still find them. */
    private void removeFromTable(int slot) {
        int cell = hashes[slot] & mask;
        while (table[cell] != slot + 1) {
            cell = (cell + 1) & mask;
        }
        int hole = cell;
        int next = hole;
        while (true) {
            next = (next + 1) & mask;
            int entry = table[next];
            if (entry == 0) {
                table[hole] = 0;
                return;
            }
            int home = hashes[entry - 1] & mask;
            // The entry may fill the hole unless its home lies cyclically in (hole, next].
            boolean homeBetween = hole <= next ? (hole < home && home <= next) : (hole < home || home <= next);
            if (!homeBetween) {
                table[hole] = entry;
                hole = next;
            }
        }
    }

    private void buildHeap() {
        heap = new int[capacity];
        heapPosition = new int[capacity];
        for (int i = 0; i < capacity; i++) {
            heap[i] = i;
            heapPosition[i] = i;
        }
        for (int i = capacity / 2 - 1; i >= 0; i--) {
            siftDown(i);
        }
    }

    private void siftDown(int pos) {
        int slot = heap[pos];
        long count = counts[slot];
        int n = capacity;
        while (true) {
            int child = 2 * pos + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && counts[heap[child + 1]] < counts[heap[child]]) {
                child++;
            }
            if (counts[heap[child]] >= count) {
                break;
            }
            heap[pos] = heap[child];
            heapPosition[heap[pos]] = pos;
            pos = child;
        }
        heap[pos] = slot;
        heapPosition[slot] = pos;
    }

    /** FNV-1a over the bytes, then a murmur3 finalizer so low bits (the table index) mix well. */
    private static int hash(byte[] buf, int off, int len) {
        int h = 0x811c9dc5;
        for (int i = off; i < off + len; i++) {
            h = (h ^ (buf[i] & 0xff)) * 0x01000193;
        }
        h ^= h >>> 16;
        h *= 0x85ebca6b;
        h ^= h >>> 13;
        h *= 0xc2b2ae35;
        h ^= h >>> 16;
        return h;
    }
}
