package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OriginalsStoreTest {

    @TempDir
    Path dir;

    private Path file() {
        return dir.resolve("var/lib/conntrack-operator/originals-node-a.properties");
    }

    @Test
    void recordsOnceAndSurvivesARestart() throws IOException {
        OriginalsStore store = OriginalsStore.open(file());
        assertThat(store.recordIfAbsent(ConntrackKey.MAX, "262144")).isTrue();
        // Already tuned value must never replace the original.
        assertThat(store.recordIfAbsent(ConntrackKey.MAX, "1048576")).isFalse();
        assertThat(store.recordIfAbsent(ConntrackKey.TCP_TIME_WAIT, "120")).isTrue();

        OriginalsStore restarted = OriginalsStore.open(file());

        assertThat(restarted.originalOf(ConntrackKey.MAX)).contains("262144");
        assertThat(restarted.recordIfAbsent(ConntrackKey.MAX, "1048576")).isFalse();
        assertThat(restarted.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"));
        assertThat(restarted.loadProblems()).isEmpty();
    }

    @Test
    void forgetRemovesFromTheFileToo() throws IOException {
        OriginalsStore store = OriginalsStore.open(file());
        store.recordIfAbsent(ConntrackKey.UDP, "30");
        store.recordIfAbsent(ConntrackKey.GENERIC, "600");
        store.forget(ConntrackKey.UDP);
        store.forget(ConntrackKey.TCP_LOOSE); // never recorded: no-op

        assertThat(store.originalOf(ConntrackKey.UDP)).isEmpty();
        assertThat(OriginalsStore.open(file()).all()).containsExactly(entry(ConntrackKey.GENERIC, "600"));
    }

    @Test
    void forgettingTheLastOriginalDeletesTheFile() throws IOException {
        OriginalsStore store = OriginalsStore.open(file());
        store.recordIfAbsent(ConntrackKey.MAX, "262144");
        assertThat(Files.exists(file())).isTrue();

        store.forget(ConntrackKey.MAX);

        // What an uninstall leaves on the node: no originals file, not one with its header only.
        try (Stream<Path> files = Files.list(file().getParent())) {
            assertThat(files).isEmpty();
        }
        assertThat(OriginalsStore.open(file()).all()).isEmpty();
    }

    @Test
    void fileIsReplacedAtomicallyWithNoTempFileLeft() throws IOException {
        OriginalsStore store = OriginalsStore.open(file());
        store.recordIfAbsent(ConntrackKey.MAX, "262144");
        store.recordIfAbsent(ConntrackKey.BUCKETS, "65536");

        try (Stream<Path> files = Files.list(file().getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("originals-node-a.properties");
        }
        assertThat(Files.readAllLines(file())).contains("max=262144", "buckets=65536");
    }

    @Test
    void missingFileIsAnEmptyStore() {
        OriginalsStore store = OriginalsStore.open(file());
        assertThat(store.all()).isEmpty();
        assertThat(store.loadProblems()).isEmpty();
        assertThat(Files.exists(file())).isFalse();
    }

    @Test
    void corruptFileKeepsWhatParsesReportsTheRestAndIsBackedUpBeforeRewrite() throws IOException {
        String corrupt = "# comment\nmax=262144\nthis is not a property\nnf_conntrack_max=1\nudp=\ntcpTimeWait=120\nmax=999\n\u0000\u0001garbage";
        FakeHost.write(file(), corrupt);

        OriginalsStore store = OriginalsStore.open(file());

        assertThat(store.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"));
        assertThat(store.loadProblems()).hasSize(5)
                .anySatisfy(p -> assertThat(p).contains("line 3").contains("not field=value"))
                .anySatisfy(p -> assertThat(p).contains("line 4").contains("unknown setting \"nf_conntrack_max\""))
                .anySatisfy(p -> assertThat(p).contains("line 5").contains("bad value for udp"))
                .anySatisfy(p -> assertThat(p).contains("line 7").contains("max repeated"));

        store.recordIfAbsent(ConntrackKey.UDP, "30");

        assertThat(FakeHost.read(file().resolveSibling("originals-node-a.properties.corrupt"))).isEqualTo(corrupt);
        OriginalsStore reloaded = OriginalsStore.open(file());
        assertThat(reloaded.loadProblems()).isEmpty();
        assertThat(reloaded.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"),
                entry(ConntrackKey.UDP, "30"));
    }

    @Test
    void unreadableFileIsNeverOverwritten() throws IOException {
        // A directory where the file should be: exists, cannot be read as a file.
        Files.createDirectories(file());
        OriginalsStore store = OriginalsStore.open(file());

        assertThat(store.loadProblems()).singleElement().asString().contains("cannot read");
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "262144"))
                .isInstanceOf(IOException.class).hasMessageContaining("refuses to rewrite");
        assertThat(store.originalOf(ConntrackKey.MAX)).isEmpty();
    }

    @Test
    void refusesValuesThatWouldBreakTheFormat() {
        OriginalsStore store = OriginalsStore.open(file());
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "1\nudp=1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "")).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.all()).isEmpty();
    }
}
