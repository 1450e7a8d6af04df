package dev.conntrack.agent.kube;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Framing of HTTP/1.1 bodies: what the API server sends, and broken streams. */
class HttpBodiesTest {
    private static InputStream wire(String s) {
        return new BufferedInputStream(new ByteArrayInputStream(s.getBytes(StandardCharsets.ISO_8859_1)));
    }

    private static String readAll(InputStream in) throws IOException {
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }

    @Test
    void chunkedBodyIsDecodedAndLeavesTheConnectionAtTheNextResponse() throws IOException {
        InputStream in = wire("5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n");
        InputStream body = new HttpBodies.Chunked(in);
        assertThat(HttpBodies.complete(body)).isFalse();
        assertThat(readAll(body)).isEqualTo("hello, world");
        assertThat(HttpBodies.complete(body)).isTrue();
        assertThat(HttpLines.read(in, true)).isEqualTo("HTTP/1.1 200 OK");
    }

    @Test
    void chunkedBodySkipsTrailersAndAcceptsUpperCaseHex() throws IOException {
        InputStream body = new HttpBodies.Chunked(wire("A\r\n0123456789\r\n0\r\nX-Trailer: 1\r\n\r\n"));
        assertThat(readAll(body)).isEqualTo("0123456789");
        assertThat(HttpBodies.complete(body)).isTrue();
    }

    @Test
    void chunkedBodyReadByteByByteGivesTheSameBytes() throws IOException {
        InputStream body = new HttpBodies.Chunked(wire("3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"));
        StringBuilder b = new StringBuilder();
        for (int c = body.read(); c >= 0; c = body.read()) {
            b.append((char) c);
        }
        assertThat(b).hasToString("abcde");
    }

    @Test
    void brokenChunkedStreamsFail() {
        assertThatThrownBy(() -> readAll(new HttpBodies.Chunked(wire("zz\r\nabc\r\n")))).isInstanceOf(IOException.class)
                .hasMessageContaining("bad chunk size");
        assertThatThrownBy(() -> readAll(new HttpBodies.Chunked(wire("5\r\nabc")))).isInstanceOf(EOFException.class);
        assertThatThrownBy(() -> readAll(new HttpBodies.Chunked(wire("3\r\nabcX\r\n0\r\n\r\n")))).isInstanceOf(IOException.class)
                .hasMessageContaining("CRLF");
        assertThatThrownBy(() -> readAll(new HttpBodies.Chunked(wire("-1\r\n")))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> readAll(new HttpBodies.Chunked(wire("123456789\r\n")))).isInstanceOf(IOException.class);
    }

    @Test
    void fixedLengthBodyStopsAtItsLength() throws IOException {
        InputStream in = wire("{\"a\":1}NEXT");
        InputStream body = new HttpBodies.Fixed(in, 7);
        assertThat(readAll(body)).isEqualTo("{\"a\":1}");
        assertThat(HttpBodies.complete(body)).isTrue();
        assertThat(new String(in.readAllBytes(), StandardCharsets.US_ASCII)).isEqualTo("NEXT");
    }

    @Test
    void fixedLengthBodyCutShortFails() {
        InputStream body = new HttpBodies.Fixed(wire("abc"), 10);
        assertThatThrownBy(() -> readAll(body)).isInstanceOf(EOFException.class).hasMessageContaining("7 bytes");
        assertThat(HttpBodies.complete(body)).isFalse();
    }

    @Test
    void bodyUntilCloseEndsWithTheStream() throws IOException {
        InputStream body = new HttpBodies.UntilClose(wire("all of it"));
        assertThat(readAll(body)).isEqualTo("all of it");
        assertThat(HttpBodies.complete(body)).isTrue();
        assertThat(HttpBodies.complete(HttpBodies.empty())).isTrue();
    }

    @Test
    void overlongLinesAreRefused() {
        String line = "x".repeat(HttpLines.MAX_LINE + 1) + "\r\n";
        assertThatThrownBy(() -> HttpLines.read(wire(line), false)).isInstanceOf(IOException.class)
                .hasMessageContaining("longer than");
    }
}
