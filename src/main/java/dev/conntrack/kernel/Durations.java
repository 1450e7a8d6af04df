package dev.conntrack.kernel;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;
import java.time.Duration;

/**
 * Go-style durations exactly as the CRD admits them: {@code ^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$},
 * e.g. "30s", "24h", "1h30m", "500ms", "1.5h". No sign, no bare "0", no spaces: the API server
 * already rejects those, so accepting them here would only hide a bug elsewhere.
 */
public final class Durations {
    private static final BigInteger NANOS_PER_SECOND = BigInteger.valueOf(1_000_000_000L);

    private Durations() {
    }

    public static Duration parse(String text) {
        if (text == null || text.isEmpty()) {
            throw bad(String.valueOf(text), "empty");
        }
        // Exact decimal arithmetic: "0.1h" must be 360s, not 359.999...s.
        BigDecimal totalNanos = BigDecimal.ZERO;
        int i = 0;
        int n = text.length();
        while (i < n) {
            int start = i;
            while (i < n && isDigit(text.charAt(i))) {
                i++;
            }
            if (i == start) {
                throw bad(text, "expected a number at position " + start);
            }
            if (i < n && text.charAt(i) == '.') {
                i++;
                int fractionStart = i;
                while (i < n && isDigit(text.charAt(i))) {
                    i++;
                }
                if (i == fractionStart) {
                    throw bad(text, "expected digits after '.' at position " + fractionStart);
                }
            }
            BigDecimal number = new BigDecimal(text.substring(start, i));
            int unitStart = i;
            while (i < n && Character.isLetter(text.charAt(i))) {
                i++;
            }
            long unitNanos = unitNanos(text, text.substring(unitStart, i));
            totalNanos = totalNanos.add(number.multiply(BigDecimal.valueOf(unitNanos)));
        }
        // Sub-nanosecond fractions are truncated, like Go does.
        BigInteger[] secondsAndNanos = totalNanos.setScale(0, RoundingMode.DOWN).toBigIntegerExact()
                .divideAndRemainder(NANOS_PER_SECOND);
        try {
            return Duration.ofSeconds(secondsAndNanos[0].longValueExact(), secondsAndNanos[1].longValueExact());
        } catch (ArithmeticException e) {
            throw bad(text, "too large");
        }
    }

    /**
     * Whole seconds as the kernel's timeout sysctls take them, rounded to the nearest second
     * (half up): "500ms" -> 1, "1.4s" -> 1, "90m" -> 5400.
     */
    public static long toKernelSeconds(Duration duration) {
        long seconds = duration.getSeconds();
        if (duration.getNano() >= 500_000_000) {
            seconds = Math.addExact(seconds, 1);
        }
        return seconds;
    }

    private static long unitNanos(String text, String unit) {
        switch (unit) {
            case "ns": return 1L;
            case "us": return 1_000L;
            case "ms": return 1_000_000L;
            case "s": return 1_000_000_000L;
            case "m": return 60_000_000_000L;
            case "h": return 3_600_000_000_000L;
            case "":
                throw bad(text, "missing unit (ns, us, ms, s, m or h)");
            default:
                throw bad(text, "unknown unit \"" + unit + "\" (ns, us, ms, s, m or h)");
        }
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static IllegalArgumentException bad(String text, String why) {
        return new IllegalArgumentException("invalid duration \"" + text + "\": " + why
                + "; expected e.g. \"30s\", \"24h\", \"1h30m\", \"500ms\"");
    }
}
