package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Real kernel, as root: SysctlFiles against /proc/sys. Excluded from the unit run by its name
 * (*KernelTest runs in the failsafe tier). Only touches nf_conntrack_tcp_timeout_time_wait of the
 * namespace it runs in, and always puts the original value back.
 */
class SysctlFilesKernelTest {
    private static final HostPaths HOST = HostPaths.host();
    private static final ConntrackKey KEY = ConntrackKey.TCP_TIME_WAIT;

    private final SysctlFiles files = new SysctlFiles(HOST);
    private String original;

    private static boolean isRoot() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("Uid:")) {
                return line.split("\\s+")[2].equals("0"); // effective uid
            }
        }
        return false;
    }

    @BeforeEach
    void recordOriginal() throws IOException {
        assumeTrue(Files.exists(KEY.readPath(HOST)), "nf_conntrack not loaded: " + KEY.readPath(HOST) + " absent");
        assumeTrue(isRoot(), "needs root to write " + KEY.readPath(HOST));
        ReadResult read = files.read(KEY);
        assertThat(read.ok()).as("read %s: %s", KEY.sysctlName(), read.failure()).isTrue();
        original = read.value();
    }

    @AfterEach
    void restoreOriginal() {
        if (original == null) {
            return;
        }
        WriteResult restored = files.write(KEY, original);
        assertThat(restored.ok()).as("restore %s=%s: %s", KEY.sysctlName(), original, restored.failure()).isTrue();
        assertThat(files.read(KEY).value()).isEqualTo(original);
    }

    @Test
    void readsTheWholeValueUnlikeFilesReadString() throws IOException {
        // The kernel's own view through a line reader, for comparison.
        List<String> lines = Files.readAllLines(KEY.readPath(HOST));
        assertThat(original).isEqualTo(lines.get(0).trim()).matches("[0-9]+");
        ReadResult max = files.read(ConntrackKey.MAX);
        assertThat(max.value()).isEqualTo(Files.readAllLines(ConntrackKey.MAX.readPath(HOST)).get(0).trim());
    }

    @Test
    void writesReadsBackAndRestores() {
        String different = original.equals("117") ? "118" : "117";
        try {
            WriteResult written = files.write(KEY, different);

            assertThat(written.ok()).as("write: %s", written.failure()).isTrue();
            assertThat(files.read(KEY).value()).isEqualTo(different);
        } finally {
            files.write(KEY, original);
        }
        assertThat(files.read(KEY).value()).isEqualTo(original);
    }

    @Test
    void outOfRangeValueIsInvalidValueAndChangesNothing() {
        // Jiffies sysctls refuse seconds above INT_MAX / HZ (negative values, surprisingly, pass).
        WriteResult written = files.write(KEY, "99999999");
        assertThat(written.ok()).isFalse();
        assertThat(written.failure().reason()).isEqualTo(FailureReason.InvalidValue);
        assertThat(files.read(KEY).value()).isEqualTo(original);
    }
}
