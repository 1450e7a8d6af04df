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
        OriginalsStore store = OriginalsStore.open(file(), null);
        assertThat(store.recordIfAbsent(ConntrackKey.MAX, "262144")).isTrue();
        // Already tuned value must never replace the original.
        assertThat(store.recordIfAbsent(ConntrackKey.MAX, "1048576")).isFalse();
        assertThat(store.recordIfAbsent(ConntrackKey.TCP_TIME_WAIT, "120")).isTrue();

        OriginalsStore restarted = OriginalsStore.open(file(), null);

        assertThat(restarted.originalOf(ConntrackKey.MAX)).contains("262144");
        assertThat(restarted.recordIfAbsent(ConntrackKey.MAX, "1048576")).isFalse();
        assertThat(restarted.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"));
        assertThat(restarted.loadProblems()).isEmpty();
    }

    @Test
    void forgetRemovesFromTheFileToo() throws IOException {
        OriginalsStore store = OriginalsStore.open(file(), null);
        store.recordIfAbsent(ConntrackKey.UDP, "30");
        store.recordIfAbsent(ConntrackKey.GENERIC, "600");
        store.forget(ConntrackKey.UDP);
        store.forget(ConntrackKey.TCP_LOOSE); // never recorded: no-op

        assertThat(store.originalOf(ConntrackKey.UDP)).isEmpty();
        assertThat(OriginalsStore.open(file(), null).all()).containsExactly(entry(ConntrackKey.GENERIC, "600"));
    }

    @Test
    void originalsOfAnotherBootAreDroppedNotWrittenBack() throws IOException {
        OriginalsStore before = OriginalsStore.open(file(), "boot-1");
        before.recordIfAbsent(ConntrackKey.MAX, "131072");
        assertThat(Files.readAllLines(file())).contains("# boot_id=boot-1");

        assertThat(OriginalsStore.open(file(), "boot-1").all()).containsExactly(entry(ConntrackKey.MAX, "131072"));
        OriginalsStore rebooted = OriginalsStore.open(file(), "boot-2");
        assertThat(rebooted.all()).as("the kernel's boot-time values are the originals now").isEmpty();
        assertThat(rebooted.droppedFromAnotherBoot()).contains("boot boot-1").contains("max=131072");
        // Recorded again in this boot, from the live value.
        rebooted.recordIfAbsent(ConntrackKey.MAX, "262144");
        assertThat(OriginalsStore.open(file(), "boot-2").all()).containsExactly(entry(ConntrackKey.MAX, "262144"));
        // An unknown boot keeps what the file has.
        assertThat(OriginalsStore.open(file(), null).all()).containsExactly(entry(ConntrackKey.MAX, "262144"));
    }

    @Test
    void valuesAreCheckedPerKey() throws IOException {
        Files.createDirectories(file().getParent());
        Files.writeString(file(), "max=12abc\ntcpLoose=2\ntcpBeLiberal=1\nudp=30\n");
        OriginalsStore store = OriginalsStore.open(file(), null);
        assertThat(store.all()).containsExactly(entry(ConntrackKey.UDP, "30"), entry(ConntrackKey.TCP_BE_LIBERAL, "1"));
        assertThat(store.loadProblems()).hasSize(2).allSatisfy(p -> assertThat(p).contains("bad value for"));
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.TCP_LOOSE, "yes")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void forgettingTheLastOriginalDeletesTheFile() throws IOException {
        OriginalsStore store = OriginalsStore.open(file(), null);
        store.recordIfAbsent(ConntrackKey.MAX, "262144");
        assertThat(Files.exists(file())).isTrue();

        store.forget(ConntrackKey.MAX);

        // What an uninstall leaves on the node: no originals file, not one with its header only.
        try (Stream<Path> files = Files.list(file().getParent())) {
            assertThat(files).isEmpty();
        }
        assertThat(OriginalsStore.open(file(), null).all()).isEmpty();
    }

    @Test
    void fileIsReplacedAtomicallyWithNoTempFileLeft() throws IOException {
        OriginalsStore store = OriginalsStore.open(file(), null);
        store.recordIfAbsent(ConntrackKey.MAX, "262144");
        store.recordIfAbsent(ConntrackKey.BUCKETS, "65536");

        try (Stream<Path> files = Files.list(file().getParent())) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("originals-node-a.properties");
        }
        assertThat(Files.readAllLines(file())).contains("max=262144", "buckets=65536");
    }

    @Test
    void missingFileIsAnEmptyStore() {
        OriginalsStore store = OriginalsStore.open(file(), null);
        assertThat(store.all()).isEmpty();
        assertThat(store.loadProblems()).isEmpty();
        assertThat(Files.exists(file())).isFalse();
    }

    @Test
    void corruptFileKeepsWhatParsesReportsTheRestAndIsBackedUpBeforeRewrite() throws IOException {
        String corrupt = "# comment\nmax=262144\nthis is not a property\nnf_conntrack_max=1\nudp=\ntcpTimeWait=120\nmax=999\n\u0000\u0001garbage";
        FakeHost.write(file(), corrupt);

        OriginalsStore store = OriginalsStore.open(file(), null);

        assertThat(store.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"));
        assertThat(store.loadProblems()).hasSize(5)
                .anySatisfy(p -> assertThat(p).contains("line 3").contains("not field=value"))
                .anySatisfy(p -> assertThat(p).contains("line 4").contains("unknown setting \"nf_conntrack_max\""))
                .anySatisfy(p -> assertThat(p).contains("line 5").contains("bad value for udp"))
                .anySatisfy(p -> assertThat(p).contains("line 7").contains("max repeated"));

        store.recordIfAbsent(ConntrackKey.UDP, "30");

        assertThat(FakeHost.read(file().resolveSibling("originals-node-a.properties.corrupt"))).isEqualTo(corrupt);
        OriginalsStore reloaded = OriginalsStore.open(file(), null);
        assertThat(reloaded.loadProblems()).isEmpty();
        assertThat(reloaded.all()).containsExactly(entry(ConntrackKey.MAX, "262144"), entry(ConntrackKey.TCP_TIME_WAIT, "120"),
                entry(ConntrackKey.UDP, "30"));
    }

    @Test
    void unreadableFileIsNeverOverwritten() throws IOException {
        // A directory where the file should be: exists, cannot be read as a file.
        Files.createDirectories(file());
        OriginalsStore store = OriginalsStore.open(file(), null);

        assertThat(store.loadProblems()).singleElement().asString().contains("cannot read");
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "262144"))
                .isInstanceOf(IOException.class).hasMessageContaining("refuses to rewrite");
        assertThat(store.originalOf(ConntrackKey.MAX)).isEmpty();
    }

    @Test
    void refusesValuesThatWouldBreakTheFormat() {
        OriginalsStore store = OriginalsStore.open(file(), null);
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "1\nudp=1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> store.recordIfAbsent(ConntrackKey.MAX, "")).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.all()).isEmpty();
    }
}
