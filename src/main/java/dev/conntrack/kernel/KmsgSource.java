package dev.conntrack.kernel;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** Something record-shaped to read from: the /dev/kmsg character device, or a file in tests. */
public interface KmsgSource extends Closeable {
    /** Like InputStream.read: bytes read into BUF from 0, or -1 at end of a regular file. */
    int read(byte[] buf) throws IOException;

    /** Opens the record source; tests inject failures (EPIPE) through it. */
    interface Opener {
        KmsgSource open(Path path) throws IOException;
    }

    /**
     * A FileChannel rather than a FileInputStream: closing the channel from another thread wakes a
     * thread blocked in read() on the device, so {@link KmsgWatcher#close()} really stops the watcher.
     */
    static KmsgSource openChannel(Path path) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
        return new KmsgSource() {
            @Override
            public int read(byte[] buf) throws IOException {
                return channel.read(ByteBuffer.wrap(buf));
            }

            @Override
            public void close() throws IOException {
                channel.close();
            }
        };
    }
}
