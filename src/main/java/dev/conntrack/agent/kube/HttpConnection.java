package dev.conntrack.agent.kube;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;

/**
 * One HTTP/1.1 connection to the API server over a blocking (TLS) socket: one request at a time,
 * its response read from the same thread. This replaces the JDK's {@code java.net.http} client for
 * the agent's few calls: that client's asynchronous machinery (selector thread, SSLEngine flow
 * delegates, completable-future chains) loaded about 160 classes plus about 130 lambda classes
 * and kept extra threads on every node, for a process that sends about one request a minute.
 *
 * <p>Every read runs against one deadline for the whole exchange (set with {@link #deadline}):
 * the socket's read timeout is set to the time left before each read, so a server that trickles
 * bytes cannot hold a call longer than its timeout either. A streamed response (a watch) can also
 * have a silence limit ({@link #silence}): no byte for that long and the read fails, so a connection
 * whose path died without a word (a NAT mapping gone, replies lost) is given up long before its
 * deadline. Not thread-safe: a connection belongs to the thread that took it from the pool.
 */
final class HttpConnection implements AutoCloseable {
    /** Most header lines accepted in one response. */
    static final int MAX_HEADERS = 200;

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private long deadlineNanos = Long.MAX_VALUE;
    /** Longest wait for the next byte of a response, in milliseconds; 0: only the deadline bounds it. */
    private int silenceMillis;
    private long idleSince;

    HttpConnection(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new BufferedInputStream(new DeadlineInput(socket.getInputStream(), socket, () -> deadlineNanos,
                () -> silenceMillis, true, "response"), 8192);
        this.out = new BufferedOutputStream(socket.getOutputStream(), 8192);
    }

    /**
     * Connects (TCP within {@code connectTimeoutMillis}), then, for {@code tls} non-null, runs the
     * TLS handshake with host name verification (the certificate must name {@code host}, as a
     * browser checks it; the JDK only does so when asked through the endpoint identification
     * algorithm) within the same time: one deadline for the whole handshake, not a timeout per
     * read, so a server that sends a byte now and then cannot hold it open.
     */
    static HttpConnection open(String host, int port, SSLSocketFactory tls, int connectTimeoutMillis) throws IOException {
        HandshakeDeadlineSocket raw = new HandshakeDeadlineSocket();
        try {
            raw.setTcpNoDelay(true);
            raw.connect(new InetSocketAddress(host, port), connectTimeoutMillis);
            if (tls == null) {
                return new HttpConnection(raw);
            }
            SSLSocket ssl = (SSLSocket) tls.createSocket(raw, host, port, true);
            SSLParameters params = ssl.getSSLParameters();
            params.setEndpointIdentificationAlgorithm("HTTPS");
            ssl.setSSLParameters(params);
            raw.deadline = System.nanoTime() + Math.max(1, connectTimeoutMillis) * 1_000_000L;
            ssl.startHandshake();
            raw.deadline = Long.MAX_VALUE;
            return new HttpConnection(ssl);
        } catch (IOException | RuntimeException e) {
            raw.close();
            throw e;
        }
    }

    /**
     * The TCP socket under the TLS one: while {@code deadline} is set (the handshake), each read the
     * TLS layer makes gets only the time left (a layered SSLSocket reads through this socket's
     * stream). Afterwards the response deadline of {@link DeadlineInput} governs the reads.
     */
    private static final class HandshakeDeadlineSocket extends Socket {
        volatile long deadline = Long.MAX_VALUE;
        private InputStream wrapped;

        @Override
        public synchronized InputStream getInputStream() throws IOException {
            if (wrapped == null) {
                wrapped = new DeadlineInput(super.getInputStream(), this, () -> deadline, () -> 0, false, "TLS handshake");
            }
            return wrapped;
        }
    }

    /** The time by which the current exchange must be done ({@link System#nanoTime()} based). */
    void deadline(long nanos) {
        this.deadlineNanos = nanos;
    }

    /** The longest wait for the next byte of the response (Duration.ZERO: none, the default). */
    void silence(java.time.Duration limit) {
        this.silenceMillis = (int) Math.min(Integer.MAX_VALUE, Math.max(0, limit.toMillis()));
    }

    void markIdle(long nowNanos) {
        idleSince = nowNanos;
    }

    long idleSince() {
        return idleSince;
    }

    /** Writes a request: request line, headers (name/value pairs; nulls skipped), Content-Length and body when not null. */
    void writeRequest(String method, String target, String hostHeader, String[] headers, byte[] body) throws IOException {
        StringBuilder b = new StringBuilder(256);
        b.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: ").append(hostHeader).append("\r\n");
        for (int i = 0; i + 1 < headers.length; i += 2) {
            if (headers[i + 1] != null) {
                b.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
            }
        }
        if (body != null) {
            b.append("Content-Length: ").append(body.length).append("\r\n");
        }
        b.append("\r\n");
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        if (body != null) {
            out.write(body);
        }
        out.flush();
    }

    /**
     * Reads the status line and headers of the response (interim 1xx responses skipped) and
     * returns it with its body, framed by Transfer-Encoding: chunked, Content-Length or, when
     * neither is given, the end of the connection.
     */
    HttpResponseHead readResponse(String method) throws IOException {
        while (true) {
            String status = HttpLines.read(in, true);
            if (!status.startsWith("HTTP/1.") || status.length() < 12 || status.charAt(8) != ' ') {
                throw new IOException("not an HTTP/1.x response: " + abbreviate(status));
            }
            int code;
            try {
                code = Integer.parseInt(status.substring(9, 12));
            } catch (NumberFormatException e) {
                throw new IOException("bad status line: " + abbreviate(status));
            }
            boolean keepAlive = status.startsWith("HTTP/1.1");
            long contentLength = -1;
            long retryAfter = -1;
            boolean chunked = false;
            for (int n = 0; ; n++) {
                String line = HttpLines.read(in, false);
                if (line.isEmpty()) {
                    break;
                }
                if (n >= MAX_HEADERS) {
                    throw new IOException("more than " + MAX_HEADERS + " header lines");
                }
                int colon = line.indexOf(':');
                if (colon <= 0) {
                    throw new IOException("bad header line: " + abbreviate(line));
                }
                String name = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (name.equalsIgnoreCase("Content-Length")) {
                    try {
                        contentLength = Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        throw new IOException("bad Content-Length: " + abbreviate(value));
                    }
                    if (contentLength < 0) {
                        throw new IOException("bad Content-Length: " + value);
                    }
                } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
                    // Any coding other than a final "chunked" would need decoding we do not do.
                    String last = value.substring(value.lastIndexOf(',') + 1).trim();
                    if (!last.equalsIgnoreCase("chunked")) {
                        throw new IOException("unsupported Transfer-Encoding: " + value);
                    }
                    chunked = true;
                } else if (name.equalsIgnoreCase("Retry-After")) {
                    try {
                        retryAfter = Math.max(0, Long.parseLong(value));
                    } catch (NumberFormatException e) {
                        retryAfter = -1; // an HTTP date: the client's own backoff applies
                    }
                } else if (name.equalsIgnoreCase("Connection")) {
                    if (containsToken(value, "close")) {
                        keepAlive = false;
                    } else if (containsToken(value, "keep-alive")) {
                        keepAlive = true;
                    }
                }
            }
            if (code >= 100 && code < 200) {
                continue; // interim (100 Continue, 103 Early Hints): the real response follows
            }
            InputStream body;
            if (method.equals("HEAD") || code == 204 || code == 304) {
                body = HttpBodies.empty();
            } else if (chunked) {
                body = new HttpBodies.Chunked(in);
            } else if (contentLength >= 0) {
                body = new HttpBodies.Fixed(in, contentLength);
            } else {
                body = new HttpBodies.UntilClose(in);
                keepAlive = false;
            }
            return new HttpResponseHead(code, body, keepAlive, retryAfter);
        }
    }

    private static boolean containsToken(String value, String token) {
        for (String part : value.split(",")) {
            if (part.trim().equalsIgnoreCase(token)) {
                return true;
            }
        }
        return false;
    }

    private static String abbreviate(String s) {
        return s.length() > 80 ? s.substring(0, 80) + "..." : s;
    }

    boolean isClosed() {
        return socket.isClosed();
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException e) {
            // closing anyway; nothing to report
        }
    }
}
