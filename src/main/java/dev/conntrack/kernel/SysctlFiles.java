package dev.conntrack.kernel;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumMap;
import java.util.Map;
import java.util.Objects;

/**
 * The real {@link KernelSettings}: the allow-listed /proc/sys and /sys files under a host root.
 *
 * <p>Writes open the existing file without CREATE (a missing file must surface as NotFound, not be
 * created in a fake tree or fail oddly on procfs), write {@code value + "\n"} in a single write
 * call at offset 0 (sysctl handlers parse one write), and close.
 */
public final class SysctlFiles implements KernelSettings {
    private final HostPaths paths;
    // Settings are read once per pass from one thread; the lock only guards the reused buffer and
    // the open files (read again at offset 0 each pass, see ProcReader).
    private final ProcReader reader = ProcReader.keepingValueFilesOpen();

    /** Each key's read path, built once: every poll reads every key (see TableReader). */
    private final Map<ConntrackKey, Path> readPaths = new EnumMap<>(ConntrackKey.class);

    public SysctlFiles(HostPaths paths) {
        this.paths = Objects.requireNonNull(paths, "paths");
    }

    public HostPaths paths() {
        return paths;
    }

    @Override
    public synchronized ReadResult read(ConntrackKey key) {
        Path path = readPaths.get(key);
        if (path == null) {
            path = key.readPath(paths);
            readPaths.put(key, path);
        }
        try {
            return ReadResult.of(reader.readTrimmed(path));
        } catch (IOException e) {
            return ReadResult.failed(IoErrors.classify(e));
        }
    }

    @Override
    public WriteResult write(ConntrackKey key, String value) {
        Objects.requireNonNull(key, "key");
        if (value == null || value.isEmpty() || value.indexOf('\n') >= 0) {
            // One value per write: a newline inside would let a caller smuggle a second value.
            return WriteResult.failed(FailureReason.InvalidValue, "refusing to write \"" + value + "\" to " + key.fieldName());
        }
        ByteBuffer bytes = ByteBuffer.wrap((value + "\n").getBytes(StandardCharsets.US_ASCII));
        try (FileChannel channel = FileChannel.open(key.writePath(paths),
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            while (bytes.hasRemaining()) {
                channel.write(bytes);
            }
            return WriteResult.success();
        } catch (IOException e) {
            return WriteResult.failed(IoErrors.classify(e));
        }
    }
}
