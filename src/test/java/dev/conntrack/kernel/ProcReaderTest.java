package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProcReaderTest {
    @TempDir
    Path root;

    @Test
    void keptFileIsReadAgainAtOffsetZeroAndStaysOpen() throws IOException {
        Path max = write("proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
        try (ProcReader reader = ProcReader.keepingFilesOpen(64)) {
            assertThat(reader.readLong(max)).isEqualTo(262144);
            // Rewritten in place (same inode), as the kernel's value changes behind an open fd.
            Files.writeString(max, "524288\n");
            assertThat(reader.readLong(max)).isEqualTo(524288);
            assertThat(openFdsTo(max)).as("one descriptor, kept between reads").isEqualTo(1);
        }
        assertThat(openFdsTo(max)).as("closed with the reader").isZero();
    }

    @Test
    void valueFileReaderReadsValuesWholeAlsoWhenLongerThanItsBuffer() throws IOException {
        Path max = write("proc/sys/net/netfilter/nf_conntrack_max", "262144\n");
        String longValue = "1".repeat(300);
        Path other = write("proc/sys/net/netfilter/long_value", longValue + "\n");
        try (ProcReader reader = ProcReader.keepingValueFilesOpen()) {
            assertThat(reader.readLong(max)).isEqualTo(262144);
            assertThat(reader.readTrimmed(other)).isEqualTo(longValue);
            Files.writeString(max, "65536\n");
            assertThat(reader.readLong(max)).isEqualTo(65536);
        }
    }

    @Test
    void fileReplacedByANewOneIsReopened() throws IOException {
        Path max = write("proc/sys/net/netfilter/nf_conntrack_max", "1000\n");
        try (ProcReader reader = ProcReader.keepingFilesOpen(64)) {
            assertThat(reader.readTrimmed(max)).isEqualTo("1000");
            // What a module reload looks like in a fake tree: a new file under the same name.
            Path next = write("proc/sys/net/netfilter/.next", "2000\n");
            Files.move(next, max, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            assertThat(reader.readTrimmed(max)).isEqualTo("2000");
            assertThat(openFdsTo(max)).isEqualTo(1);
        }
    }

    @Test
    void removedFileFailsAsNotFoundUntilItComesBack() throws IOException {
        String first = "entries  found\n00000010  00000000\n";
        Path stats = write("proc/net/stat/nf_conntrack", first);
        try (ProcReader reader = ProcReader.keepingFilesOpen(16)) {
            reader.load(stats);
            assertThat(reader.length()).isEqualTo(first.length());
            Files.delete(stats);
            assertThatThrownBy(() -> reader.load(stats)).isInstanceOf(NoSuchFileException.class);
            assertThat(IoErrors.classify(catchIo(reader, stats)).reason()).isEqualTo(FailureReason.NotFound);
            write("proc/net/stat/nf_conntrack", "entries  found\n00000020  00000001\n00000020  00000002\n");
            reader.load(stats);
            assertThat(new String(reader.buffer(), 0, reader.length())).endsWith("00000020  00000002\n");
        }
    }

    @Test
    void fileLargerThanTheBufferIsReadWhole() throws IOException {
        String big = "x".repeat(5000) + "\n";
        Path file = write("proc/net/stat/nf_conntrack", big);
        try (ProcReader reader = ProcReader.keepingFilesOpen(64)) {
            reader.load(file);
            assertThat(reader.length()).isEqualTo(big.length());
            reader.load(file);
            assertThat(reader.length()).isEqualTo(big.length());
        }
    }

    @Test
    void aPlainReaderKeepsNothingOpen() throws IOException {
        Path max = write("proc/sys/net/netfilter/nf_conntrack_max", "7\n");
        ProcReader reader = new ProcReader(64);
        assertThat(reader.readLong(max)).isEqualTo(7);
        assertThat(openFdsTo(max)).isZero();
    }

    private static IOException catchIo(ProcReader reader, Path path) {
        try {
            reader.load(path);
            throw new AssertionError("expected a failure");
        } catch (IOException e) {
            return e;
        }
    }

    private Path write(String relative, String content) throws IOException {
        Path file = root.resolve(relative);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, content);
    }

    /** Descriptors of this process that point at the file (Linux: /proc/self/fd links). */
    private static long openFdsTo(Path file) throws IOException {
        Path real = file.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            return fds.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).equals(real);
                } catch (IOException e) {
                    return false;
                }
            }).count();
        }
    }

    @Test
    void pastTheProcessBudgetReadersReadPerCallAndStillReadFreshContent(@TempDir Path dir) throws Exception {
        // Many agents in one process (the fleet simulator) or many namespaces: kept files stay within
        // the budget, whatever the readers ask for, and reads stay correct past it.
        java.util.List<ProcReader> readers = new java.util.ArrayList<>();
        java.util.List<Path> files = new java.util.ArrayList<>();
        try {
            for (int r = 0; r * 30 < ProcReader.PROCESS_BUDGET + 30; r++) {
                ProcReader reader = ProcReader.keepingFilesOpen(64);
                readers.add(reader);
                for (int i = 0; i < 30; i++) {
                    Path file = dir.resolve("count-" + r + "-" + i);
                    Files.writeString(file, "12\n");
                    files.add(file);
                    assertThat(reader.readLong(file)).isEqualTo(12);
                }
            }
            long kept = 0;
            for (Path file : files) {
                kept += openFdsTo(file);
            }
            assertThat(kept).isLessThanOrEqualTo(ProcReader.PROCESS_BUDGET);
            ProcReader last = readers.get(readers.size() - 1);
            Path file = files.get(files.size() - 1);
            assertThat(openFdsTo(file)).as("past the budget: read per call").isZero();
            Files.writeString(file, "13\n");
            assertThat(last.readLong(file)).isEqualTo(13);
        } finally {
            readers.forEach(ProcReader::close);
        }
        long left = 0;
        for (Path file : files) {
            left += openFdsTo(file);
        }
        assertThat(left).as("closed with the readers").isZero();
    }
}
