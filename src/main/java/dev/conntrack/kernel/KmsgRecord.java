package dev.conntrack.kernel;

import java.util.Optional;

/**
 * One /dev/kmsg record header line: {@code prio,seq,usec,flags[,more];message}. Continuation lines
 * (" KEY=value", they start with a space) are not records and do not parse.
 *
 * @param priority syslog facility * 8 + level
 * @param sequence the kernel's record number; a gap means records were overwritten before being read
 * @param usec     monotonic time since boot in microseconds when the record was logged
 */
public record KmsgRecord(int priority, long sequence, long usec, String message) {

    /** The record in LINE (without the trailing newline), or empty for continuation or malformed lines. */
    public static Optional<KmsgRecord> parse(String line) {
        if (line.isEmpty() || line.charAt(0) == ' ') {
            return Optional.empty();
        }
        int semicolon = line.indexOf(';');
        if (semicolon < 0) {
            return Optional.empty();
        }
        int c1 = line.indexOf(',');
        int c2 = c1 < 0 ? -1 : line.indexOf(',', c1 + 1);
        int c3 = c2 < 0 ? -1 : line.indexOf(',', c2 + 1);
        // The flags field (and, with CONFIG_PRINTK_CALLER, a caller field) sits between c3 and ';'.
        if (c1 < 0 || c2 < 0 || c3 < 0 || c3 > semicolon) {
            return Optional.empty();
        }
        try {
            int priority = Integer.parseInt(line, 0, c1, 10);
            long sequence = Long.parseLong(line, c1 + 1, c2, 10);
            long usec = Long.parseLong(line, c2 + 1, c3, 10);
            int end = line.indexOf('\n', semicolon);
            String message = line.substring(semicolon + 1, end < 0 ? line.length() : end);
            return Optional.of(new KmsgRecord(priority, sequence, usec, message));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Logged by the kernel itself (facility 0, kern); user space writing to /dev/kmsg gets facility user (1) or another. */
    public boolean fromKernel() {
        return priority >> 3 == 0;
    }
}
