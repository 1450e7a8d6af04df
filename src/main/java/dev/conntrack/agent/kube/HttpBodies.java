package dev.conntrack.agent.kube;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;

/**
 * HTTP/1.1 message bodies read from a connection's input: chunked (watch responses, and most
 * others from the API server), fixed length, or up to the end of the connection. Closing a body
 * does not close the connection: {@link #complete} says whether it was read to its end, which is
 * what lets the connection carry the next request.
 */
final class HttpBodies {
    private HttpBodies() {
    }

    /** Whether BODY was read to its end (the connection is positioned at the next response). */
    static boolean complete(InputStream body) {
        return body instanceof Framed f ? f.done : true;
    }

    static InputStream empty() {
        return new Fixed(InputStream.nullInputStream(), 0);
    }

    abstract static class Framed extends InputStream {
        final InputStream in;
        boolean done;

        Framed(InputStream in) {
            this.in = in;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }
    }

    /** Content-Length framing. */
    static final class Fixed extends Framed {
        private long left;

        Fixed(InputStream in, long length) {
            super(in);
            this.left = length;
            this.done = length == 0;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left == 0) {
                done = true;
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            int n = in.read(b, off, (int) Math.min(len, left));
            if (n < 0) {
                throw new EOFException("connection closed with " + left + " bytes of the body missing");
            }
            left -= n;
            if (left == 0) {
                done = true;
            }
            return n;
        }

        @Override
        public int available() throws IOException {
            return (int) Math.min(in.available(), left);
        }
    }

    /**
     * Transfer-Encoding: chunked (RFC 9112 section 7.1): hex size line (extensions ignored), data,
     * CRLF; a zero size ends the body, followed by optional trailer lines and an empty line.
     */
    static final class Chunked extends Framed {
        /** A chunk size above this is taken for a broken stream rather than allocated for. */
        static final long MAX_CHUNK = 1L << 31;
        private long leftInChunk;

        Chunked(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            if (len == 0) {
                return 0;
            }
            if (leftInChunk == 0) {
                leftInChunk = nextChunkSize();
                if (leftInChunk == 0) {
                    // Trailers (none from the API server) up to the empty line that ends the message.
                    while (!HttpLines.read(in, false).isEmpty()) {
                        // skip the trailer line
                    }
                    done = true;
                    return -1;
                }
            }
            int n = in.read(b, off, (int) Math.min(len, leftInChunk));
            if (n < 0) {
                throw new EOFException("connection closed within a chunk");
            }
            leftInChunk -= n;
            if (leftInChunk == 0) {
                String end = HttpLines.read(in, false);
                if (!end.isEmpty()) {
                    throw new IOException("chunk not followed by CRLF");
                }
            }
            return n;
        }

        private long nextChunkSize() throws IOException {
            String line = HttpLines.read(in, false);
            int semicolon = line.indexOf(';');
            String hex = (semicolon >= 0 ? line.substring(0, semicolon) : line).trim();
            if (hex.isEmpty() || hex.length() > 8) {
                throw new IOException("bad chunk size line: " + (line.length() > 40 ? line.substring(0, 40) : line));
            }
            long size;
            try {
                size = Long.parseLong(hex, 16);
            } catch (NumberFormatException e) {
                throw new IOException("bad chunk size: " + hex);
            }
            if (size < 0 || size > MAX_CHUNK) {
                throw new IOException("bad chunk size: " + hex);
            }
            return size;
        }

        @Override
        public int available() throws IOException {
            return done ? 0 : (int) Math.min(in.available(), leftInChunk);
        }
    }

    /** No framing: the body ends with the connection (which then cannot be reused). */
    static final class UntilClose extends Framed {
        UntilClose(InputStream in) {
            super(in);
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (done) {
                return -1;
            }
            int n = in.read(b, off, len);
            if (n < 0) {
                done = true;
            }
            return n;
        }
    }
}
