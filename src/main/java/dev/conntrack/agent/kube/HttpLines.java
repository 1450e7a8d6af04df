package dev.conntrack.agent.kube;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/** HTTP/1.1 start and header lines, for the agent's API client and its metrics endpoint. */
public final class HttpLines {
    /** Longest line accepted: the API server's and scrapers' lines are far shorter. */
    public static final int MAX_LINE = 16 * 1024;

    private HttpLines() {
    }

    /**
     * A CRLF (or bare LF) terminated line in ISO-8859-1, without its terminator.
     *
     * @param first whether this is the first line of a message (an end of stream before any byte
     *              is then "closed before a response" rather than "within a line")
     */
    public static String read(InputStream in, boolean first) throws IOException {
        StringBuilder b = new StringBuilder(64);
        while (true) {
            int c = in.read();
            if (c < 0) {
                if (first && b.length() == 0) {
                    throw new EOFException("connection closed before a message");
                }
                throw new EOFException("connection closed within a line");
            }
            if (c == '\n') {
                int len = b.length();
                if (len > 0 && b.charAt(len - 1) == '\r') {
                    b.setLength(len - 1);
                }
                return b.toString();
            }
            if (b.length() >= MAX_LINE) {
                throw new IOException("line longer than " + MAX_LINE + " bytes");
            }
            b.append((char) c);
        }
    }
}
