package dev.conntrack.kernel;

import java.util.OptionalInt;

/** Upper bound of the kernel memory a conntrack table of a given size can take. */
public final class TableMemory {
    /**
     * Documented estimate of sizeof(struct nf_conn) plus slab overhead when /proc/slabinfo cannot
     * tell (the classic write-up says 376, a 6.18 kernel 256; 320 sits between typical builds).
     */
    public static final int DEFAULT_OBJECT_SIZE = 320;
    /** Per bucket, as the classic estimate counts it (the hlist_nulls_head itself is 8 bytes on 64-bit: an upper bound). */
    public static final int BUCKET_HEAD_SIZE = 16;

    private TableMemory() {
    }

    /** max x objectSize + buckets x 16 bytes: what a full table and its hash heads occupy. */
    public static long estimate(long max, long buckets, long objectSize) {
        return Math.addExact(Math.multiplyExact(max, objectSize), Math.multiplyExact(buckets, BUCKET_HEAD_SIZE));
    }

    public static long estimate(long max, long buckets, OptionalInt objectSize) {
        return estimate(max, buckets, objectSize.orElse(DEFAULT_OBJECT_SIZE));
    }
}
