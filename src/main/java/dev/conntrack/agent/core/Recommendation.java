package dev.conntrack.agent.core;

import java.util.List;
import java.util.Objects;

/**
 * One piece of advice drawn from a table listing: what was seen, what to change and what it would
 * do, in a sentence a user can act on. Settings name {@link dev.conntrack.api.ConntrackSettings}
 * fields with values as a ConntrackPolicy takes them ("30s", "262144"), so they can be pasted into
 * a policy as they are. Advisory only: nothing applies them by itself.
 */
public record Recommendation(Kind kind, String message, List<SuggestedSetting> settings) {

    public enum Kind {
        /** More than half the table is TIME_WAIT: a shorter tcpTimeWait frees entries. */
        TIME_WAIT_DOMINATES,
        /** One source address holds more than half the table: look at that client first. */
        SOURCE_DOMINATES,
        /** The table dropped packets and memory allows a larger one. */
        RAISE_MAX,
        /** The table dropped packets but a meaningfully larger one would not fit in spare memory. */
        NO_SPARE_MEMORY
    }

    /** A ConntrackSettings field and the value suggested for it. */
    public record SuggestedSetting(String field, String value) {
        public SuggestedSetting {
            Objects.requireNonNull(field, "field");
            Objects.requireNonNull(value, "value");
        }
    }

    public Recommendation {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(message, "message");
        settings = List.copyOf(settings);
    }
}
