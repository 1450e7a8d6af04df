package dev.conntrack.agent.kube;

import java.io.IOException;
import java.io.InputStream;

/** A watch body: closing it closes its connection, which is never reused. */
final class StreamBody extends InputStream {
    private final InputStream body;
    private final HttpConnection connection;

    StreamBody(InputStream body, HttpConnection connection) {
        this.body = body;
        this.connection = connection;
    }

    @Override
    public int read() throws IOException {
        return body.read();
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return body.read(b, off, len);
    }

    @Override
    public int available() throws IOException {
        return body.available();
    }

    @Override
    public void close() {
        connection.close();
    }
}
