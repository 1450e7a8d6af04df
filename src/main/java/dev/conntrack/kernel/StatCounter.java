package dev.conntrack.kernel;

import java.util.HashMap;
import java.util.Map;

/**
 * The conntrack counters the agent knows, with the names procfs (header of
 * /proc/net/stat/nf_conntrack) and netlink (conntrack -S) give them. The two sources name some
 * counters differently (clashres/clash_resolve, icmp_error/error, chainlength/chaintoolong).
 * Columns of other kernels that are not listed here are skipped.
 */
public enum StatCounter {
    /** Table size of the namespace; repeated on every CPU line, never summed. */
    ENTRIES("entries"),
    SEARCHED("searched"),
    FOUND("found"),
    NEW("new"),
    INVALID("invalid"),
    IGNORE("ignore"),
    DELETE("delete"),
    DELETE_LIST("delete_list"),
    INSERT("insert"),
    INSERT_FAILED("insert_failed"),
    /** What a full table moves: packets dropped because no entry could be allocated. */
    DROP("drop"),
    EARLY_DROP("early_drop"),
    ICMP_ERROR("icmp_error", "error"),
    EXPECT_NEW("expect_new"),
    EXPECT_CREATE("expect_create"),
    EXPECT_DELETE("expect_delete"),
    SEARCH_RESTART("search_restart"),
    CLASH_RESOLVE("clashres", "clash_resolve"),
    CHAIN_TOO_LONG("chainlength", "chaintoolong");

    private static final Map<String, StatCounter> BY_NAME = new HashMap<>();

    static {
        for (StatCounter c : values()) {
            for (String name : c.names) {
                BY_NAME.put(name, c);
            }
        }
    }

    private final String[] names;

    StatCounter(String... names) {
        this.names = names;
    }

    /** The procfs header name. */
    public String procfsName() {
        return names[0];
    }

    /** By procfs header name or conntrack -S name; null when unknown. */
    public static StatCounter byName(String name) {
        return BY_NAME.get(name);
    }
}
