package dev.conntrack.agent.core;

/**
 * Says when this node's conntrack table, full until now, has room again: the moment to retry the
 * API server calls that failed meanwhile. While the table is full the kernel drops every packet
 * that would need a new entry, the agent's own new connections to the API server among them (on
 * a node they go through the kubernetes Service's DNAT and are tracked like any other). The
 * table frees itself only as its TIME_WAIT entries expire (two minutes by default), and a client
 * backoff of up to a minute on top of that would leave the node unreported for no reason.
 *
 * <p>Full: the count at 99% of max or more (the kernel refuses new entries at max, and while a
 * storm lasts every entry that expires is taken again at once). Room: below 95%, so that a count
 * hovering at the edge does not count as a new episode on every poll. Not thread-safe: the poll
 * thread's.
 */
public final class TableRoom {
    private boolean full;

    /** True once per episode: at the first sample with room after a full one. A MAX of 0 or less (unknown) says nothing. */
    public boolean regained(long count, long max) {
        if (max <= 0) {
            return false;
        }
        if (count * 100 >= max * 99) {
            full = true;
            return false;
        }
        if (full && count * 100 < max * 95) {
            full = false;
            return true;
        }
        return false;
    }
}
