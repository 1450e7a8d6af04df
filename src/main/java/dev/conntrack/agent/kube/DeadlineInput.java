package dev.conntrack.agent.kube;

import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.function.IntSupplier;
import java.util.function.LongSupplier;

/**
 * A socket's input, each read bounded by the time left to a deadline ({@link System#nanoTime()}
 * based; Long.MAX_VALUE: none, the socket's timeout is then left alone or cleared) and by the
 * silence limit (milliseconds, 0: none).
 */
final class DeadlineInput extends InputStream {
    private final InputStream raw;
    private final Socket socket;
    private final LongSupplier deadline;
    private final IntSupplier silence;
    private final boolean clearWithoutDeadline;
    private final String what;

    DeadlineInput(InputStream raw, Socket socket, LongSupplier deadline,
            IntSupplier silence, boolean clearWithoutDeadline, String what) {
        this.raw = raw;
        this.socket = socket;
        this.deadline = deadline;
        this.silence = silence;
        this.clearWithoutDeadline = clearWithoutDeadline;
        this.what = what;
    }

    /** Sets the socket's timeout for the next read; returns true when the silence limit is what bounds it. */
    private boolean arm() throws IOException {
        long d = deadline.getAsLong();
        int quiet = silence.getAsInt();
        if (d == Long.MAX_VALUE) {
            if (clearWithoutDeadline) {
                socket.setSoTimeout(quiet);
            }
            return quiet > 0;
        }
        long left = d - System.nanoTime();
        if (left <= 0) {
            throw new SocketTimeoutException(what + " not complete within its deadline");
        }
        int millis = (int) Math.max(1, Math.min(Integer.MAX_VALUE, left / 1_000_000));
        socket.setSoTimeout(quiet > 0 ? Math.min(quiet, millis) : millis);
        return quiet > 0 && quiet < millis;
    }

    @Override
    public int read() throws IOException {
        boolean bySilence = arm();
        try {
            return raw.read();
        } catch (SocketTimeoutException e) {
            throw silent(bySilence, e);
        }
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        boolean bySilence = arm();
        try {
            return raw.read(b, off, len);
        } catch (SocketTimeoutException e) {
            throw silent(bySilence, e);
        }
    }

    private SocketTimeoutException silent(boolean bySilence, SocketTimeoutException e) {
        if (!bySilence) {
            return e;
        }
        SocketTimeoutException said = new SocketTimeoutException(what + ": no byte for " + silence.getAsInt()
                + " ms (the connection is taken for dead)");
        said.initCause(e);
        return said;
    }

    @Override
    public int available() throws IOException {
        return raw.available();
    }
}
