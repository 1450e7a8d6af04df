package dev.conntrack.operator;

import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Times as the API carries them (RFC 3339 text) in statuses and conditions that agents write. */
final class Timestamps {
    private Timestamps() {
    }

    /** The instant, or null when the text is missing or unreadable: an unknown time, never a failed roll-up. */
    static Instant parse(String text) {
        if (text == null) {
            return null;
        }
        try {
            return Instant.parse(text);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
