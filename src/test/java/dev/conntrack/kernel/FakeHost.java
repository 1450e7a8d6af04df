package dev.conntrack.kernel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** A fake host root in a temp directory: the kernel files the agent uses, with kernel defaults. */
public final class FakeHost {
    public static final String FIXTURES = "/fixtures/kernel-6.18/";

    private final Path root;
    private final HostPaths paths;

    private FakeHost(Path root) {
        this.root = root;
        this.paths = new HostPaths(root);
    }

    /** Only the directory, no files. */
    public static FakeHost empty(Path root) {
        return new FakeHost(root);
    }

    /** nf_conntrack loaded, every allow-listed parameter at its kernel default. */
    public static FakeHost withConntrack(Path root) {
        FakeHost host = new FakeHost(root);
        host.loadModule();
        return host;
    }

    public void loadModule() {
        set(ConntrackKey.MAX, "262144");
        set(ConntrackKey.BUCKETS, "65536");
        write(paths.hashsize(), "65536\n");
        set(ConntrackKey.TCP_ESTABLISHED, "432000");
        set(ConntrackKey.TCP_TIME_WAIT, "120");
        set(ConntrackKey.TCP_CLOSE_WAIT, "60");
        set(ConntrackKey.TCP_SYN_SENT, "120");
        set(ConntrackKey.TCP_SYN_RECV, "60");
        set(ConntrackKey.TCP_FIN_WAIT, "120");
        set(ConntrackKey.UDP, "30");
        set(ConntrackKey.UDP_STREAM, "120");
        set(ConntrackKey.GENERIC, "600");
        set(ConntrackKey.TCP_BE_LIBERAL, "0");
        set(ConntrackKey.TCP_LOOSE, "1");
        write(paths.conntrackCount(), "12\n");
    }

    public HostPaths paths() {
        return paths;
    }

    public Path root() {
        return root;
    }

    /** Sets the live value (as the kernel would print it) of KEY. */
    public void set(ConntrackKey key, String value) {
        write(key.readPath(paths), value + "\n");
    }

    /** The raw content of the file KEY is read from. */
    public String rawLive(ConntrackKey key) {
        return read(key.readPath(paths));
    }

    public static String read(Path path) {
        try {
            return Files.readString(path); // fine on a regular file; never on /proc
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static void write(Path path, String content) {
        try {
            Files.createDirectories(path.getParent());
            Files.writeString(path, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static String fixture(String name) {
        try (InputStream in = FakeHost.class.getResourceAsStream(FIXTURES + name)) {
            if (in == null) {
                throw new IllegalArgumentException("no fixture " + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
