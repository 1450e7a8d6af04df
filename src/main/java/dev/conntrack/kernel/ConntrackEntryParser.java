package dev.conntrack.kernel;

/**
 * Finds the fields of one conntrack table line in a byte buffer, without building a String:
 * offsets into the caller's buffer are left in public fields until the next {@link #parse} call.
 *
 * <p>Accepts the three forms of the same line:
 * <pre>
 * /proc/net/nf_conntrack:     ipv4     2 tcp      6 114 TIME_WAIT src=A dst=B sport=P dport=Q src=B ... [ASSURED] mark=0 zone=0 use=2
 * conntrack -L -o extended:   ipv4     2 tcp      6 114 TIME_WAIT src=A dst=B sport=P dport=Q src=B ... [ASSURED] mark=0 use=1
 * conntrack -L (no -o):                 tcp      6 114 TIME_WAIT src=A ...
 * </pre>
 * UDP, ICMP and other protocols have no state word; ICMP and GRE have no ports. The ORIGINAL
 * direction tuple comes first, so the first src=, dst= and dport= before the second src= are the
 * ones kept. {@code [UNREPLIED]} follows the original tuple, {@code [ASSURED]} the reply tuple.
 * Not thread-safe: one instance per summarizing thread.
 */
final class ConntrackEntryParser {
    /** A field longer than this is not something the kernel prints: the line counts as malformed. */
    static final int MAX_FIELD = 64;
    static final int NO_PORT = -1;

    /** Address family: from the ipv4/ipv6 column, or from the address when the line has none. */
    boolean l3IsV6;
    int l4Off;
    int l4Len;
    int l4Number;
    int stateOff;
    int stateLen;
    int srcOff;
    int srcLen;
    int dstOff;
    int dstLen;
    int dport;
    boolean assured;
    boolean unreplied;
    /** Why the last line was rejected, for the malformed-line example. */
    String problem;

    private static final byte[] IPV4 = {'i', 'p', 'v', '4'};
    private static final byte[] IPV6 = {'i', 'p', 'v', '6'};

    /** Parses BUF[START, END) (no newline). False when the line is not a conntrack entry; see {@link #problem}. */
    boolean parse(byte[] buf, int start, int end) {
        l4Off = l4Len = stateOff = stateLen = srcOff = srcLen = dstOff = dstLen = 0;
        l4Number = -1;
        dport = NO_PORT;
        assured = unreplied = false;
        problem = null;
        int l3 = 0; // 4, 6, or 0 when the line has no family column

        int i = skipSpaces(buf, start, end);
        int tokEnd = tokenEnd(buf, i, end);
        if (tokEnd == i) {
            return fail("empty line");
        }
        if (equals(buf, i, tokEnd, IPV4) || equals(buf, i, tokEnd, IPV6)) {
            l3 = buf[i + 3] == '4' ? 4 : 6;
            i = skipSpaces(buf, tokEnd, end);
            tokEnd = tokenEnd(buf, i, end);
            if (parseNumber(buf, i, tokEnd) < 0) {
                return fail("no l3 protocol number after ipv" + l3);
            }
            i = skipSpaces(buf, tokEnd, end);
            tokEnd = tokenEnd(buf, i, end);
        }
        // l4 name, l4 number, timeout.
        if (tokEnd == i || !isLetter(buf[i])) {
            return fail("no protocol name");
        }
        l4Off = i;
        l4Len = tokEnd - i;
        i = skipSpaces(buf, tokEnd, end);
        tokEnd = tokenEnd(buf, i, end);
        l4Number = parseNumber(buf, i, tokEnd);
        if (l4Number < 0 || l4Number > 255) {
            return fail("no protocol number");
        }
        i = skipSpaces(buf, tokEnd, end);
        tokEnd = tokenEnd(buf, i, end);
        if (parseNumber(buf, i, tokEnd) < 0) {
            return fail("no timeout");
        }
        i = skipSpaces(buf, tokEnd, end);
        tokEnd = tokenEnd(buf, i, end);
        if (tokEnd > i && buf[i] != '[' && indexOf(buf, i, tokEnd, (byte) '=') < 0) {
            stateOff = i;
            stateLen = tokEnd - i;
            if (stateLen > MAX_FIELD) {
                return fail("state word too long");
            }
            i = skipSpaces(buf, tokEnd, end);
        }
        int tuples = 0;
        while (i < end) {
            tokEnd = tokenEnd(buf, i, end);
            int len = tokEnd - i;
            byte first = buf[i];
            if (first == 's' && len > 4 && buf[i + 1] == 'r' && buf[i + 2] == 'c' && buf[i + 3] == '=') {
                tuples++;
                if (tuples == 1) {
                    srcOff = i + 4;
                    srcLen = len - 4;
                } else {
                    // The reply tuple: nothing in it counts, and what follows it that does is a
                    // [FLAG]. Look only for '[' from here on (half the line, one compare a byte).
                    scanFlags(buf, tokEnd, end);
                    break;
                }
            } else if (tuples == 1 && first == 'd' && len > 4 && buf[i + 1] == 's' && buf[i + 2] == 't' && buf[i + 3] == '=') {
                if (dstLen == 0) {
                    dstOff = i + 4;
                    dstLen = len - 4;
                }
            } else if (tuples == 1 && first == 'd' && len > 6 && buf[i + 1] == 'p' && buf[i + 2] == 'o'
                    && buf[i + 3] == 'r' && buf[i + 4] == 't' && buf[i + 5] == '=') {
                if (dport == NO_PORT) {
                    dport = parseNumber(buf, i + 6, tokEnd);
                    if (dport < 0 || dport > 65535) {
                        return fail("dport is not a port number");
                    }
                }
            } else if (first == '[') {
                if (equalsAscii(buf, i, tokEnd, "[ASSURED]")) {
                    assured = true;
                } else if (equalsAscii(buf, i, tokEnd, "[UNREPLIED]")) {
                    unreplied = true;
                }
            }
            i = skipSpaces(buf, tokEnd, end);
        }
        if (srcLen == 0 || dstLen == 0) {
            return fail("no src= and dst= of the original direction");
        }
        if (srcLen > MAX_FIELD || dstLen > MAX_FIELD || l4Len > MAX_FIELD) {
            return fail("field too long");
        }
        // conntrack -L without -o extended has no family column: the address tells.
        l3IsV6 = l3 == 0 ? indexOf(buf, srcOff, srcOff + srcLen, (byte) ':') >= 0 : l3 == 6;
        return true;
    }

    private void scanFlags(byte[] buf, int i, int end) {
        for (; i < end; i++) {
            if (buf[i] == '[') {
                int close = tokenEnd(buf, i, end);
                if (equalsAscii(buf, i, close, "[ASSURED]")) {
                    assured = true;
                } else if (equalsAscii(buf, i, close, "[UNREPLIED]")) {
                    unreplied = true;
                }
                i = close;
            }
        }
    }

    private boolean fail(String why) {
        problem = why;
        return false;
    }

    /** Separators are spaces (tabs and a stray \r too): every byte up to ' ' is one, one compare a byte. */
    private static int skipSpaces(byte[] buf, int i, int end) {
        while (i < end && buf[i] <= ' ' && buf[i] >= 0) {
            i++;
        }
        return i;
    }

    private static int tokenEnd(byte[] buf, int i, int end) {
        while (i < end && (buf[i] > ' ' || buf[i] < 0)) {
            i++;
        }
        return i;
    }

    /** Decimal number in BUF[START, END), or -1 when it is not one (or above 10 digits). */
    private static int parseNumber(byte[] buf, int start, int end) {
        if (start >= end || end - start > 10) {
            return -1;
        }
        long value = 0;
        for (int i = start; i < end; i++) {
            int d = buf[i] - '0';
            if (d < 0 || d > 9) {
                return -1;
            }
            value = value * 10 + d;
        }
        return value > Integer.MAX_VALUE ? -1 : (int) value;
    }

    private static int indexOf(byte[] buf, int start, int end, byte b) {
        for (int i = start; i < end; i++) {
            if (buf[i] == b) {
                return i;
            }
        }
        return -1;
    }

    private static boolean isLetter(byte b) {
        return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z');
    }

    private static boolean equals(byte[] buf, int start, int end, byte[] word) {
        if (end - start != word.length) {
            return false;
        }
        for (int k = 0; k < word.length; k++) {
            if (buf[start + k] != word[k]) {
                return false;
            }
        }
        return true;
    }

    private static boolean equalsAscii(byte[] buf, int start, int end, String word) {
        if (end - start != word.length()) {
            return false;
        }
        for (int k = 0; k < word.length(); k++) {
            if (buf[start + k] != word.charAt(k)) {
                return false;
            }
        }
        return true;
    }
}
