package dev.conntrack.operator;

import java.math.BigDecimal;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Durations as policies write them: Go's format ("30s", "1h30m", "1.5s"), the CRD's CEL format. */
final class GoDurations {
    private static final Pattern DURATION = Pattern.compile("^([0-9]+(\\.[0-9]+)?(ns|us|ms|s|m|h))+$");
    private static final Pattern DURATION_PART = Pattern.compile("([0-9]+(?:\\.[0-9]+)?)(ns|us|ms|s|m|h)");

    private GoDurations() {
    }

    /** The duration in nanoseconds, or null when the text is not one. */
    static BigDecimal nanos(String text) {
        if (text == null || !DURATION.matcher(text).matches()) {
            return null;
        }
        BigDecimal total = BigDecimal.ZERO;
        Matcher m = DURATION_PART.matcher(text);
        while (m.find()) {
            long unit = switch (m.group(2)) {
                case "ns" -> 1L;
                case "us" -> 1_000L;
                case "ms" -> 1_000_000L;
                case "s" -> 1_000_000_000L;
                case "m" -> 60_000_000_000L;
                default -> 3_600_000_000_000L; // h
            };
            total = total.add(new BigDecimal(m.group(1)).multiply(BigDecimal.valueOf(unit)));
        }
        return total;
    }
}
