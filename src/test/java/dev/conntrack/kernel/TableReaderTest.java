package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TableReaderTest {

    @TempDir
    Path root;

    @Test
    void readsCountMaxAndBuckets() {
        FakeHost host = FakeHost.withConntrack(root);
        FakeHost.write(host.paths().conntrackCount(), "1000\n");
        host.set(ConntrackKey.MAX, "1000");

        TableSnapshot table = new TableReader(host.paths()).read();

        assertThat(table.count()).hasValue(1000);
        assertThat(table.max()).hasValue(1000);
        assertThat(table.buckets()).hasValue(65536);
        assertThat(table.unavailable()).isEmpty();
    }

    @Test
    void missingFilesAreNamed() throws Exception {
        FakeHost host = FakeHost.withConntrack(root);
        Files.delete(host.paths().conntrackCount());
        FakeHost.write(host.paths().conntrackBuckets(), "garbage\n");

        TableSnapshot table = new TableReader(host.paths()).read();

        assertThat(table.count()).isEmpty();
        assertThat(table.buckets()).isEmpty();
        assertThat(table.max()).hasValue(262144);
        assertThat(table.unavailable()).hasSize(2);
        assertThat(table.unavailable().get(0)).startsWith("table: /proc/sys/net/netfilter/nf_conntrack_count unreadable");
        assertThat(table.unavailable().get(1)).contains("nf_conntrack_buckets").contains("not a number");
    }

    @Test
    void slabinfoFixtureGivesTheObjectSize() {
        assertThat(SlabInfo.parse(FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"))).hasValue(256);
    }

    @Test
    void slabinfoWithOtherCachesAndVersionLine() {
        String text = "slabinfo - version: 2.1\n"
                + "# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n"
                + "nf_conntrack_expect      0      0    208   19    1 : tunables    0    0    0 : slabdata      0      0      0\n"
                + "nf_conntrack        1088   1088    320   16    1 : tunables    0    0    0 : slabdata     68     68      0\n";
        assertThat(SlabInfo.parse(text)).hasValue(320);
    }

    @Test
    void slabinfoWithoutAUsableObjectSizeGivesNone() {
        String header = "slabinfo - version: 2.1\n# name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab>\n";
        assertThat(SlabInfo.parse(header + "nf_conntrack 0 0 0 16 1\n")).as("objsize 0").isEmpty();
        assertThat(SlabInfo.parse(header + "nf_conntrack 10 20\n")).as("line cut before objsize").isEmpty();
        assertThat(SlabInfo.parse(header + "nf_conntrack 10 20 256\n")).hasValue(256);
        assertThat(SlabInfo.parse(header + "nf_conntrack 10 20 x 16 1\n")).isEmpty();
        // The objsize column is found by name.
        assertThat(SlabInfo.parse("# name <objsize> <active_objs>\nnf_conntrack 192 5\n")).hasValue(192);
    }

    @Test
    void memAvailableWithAndWithoutAUnit() {
        assertThat(MemInfo.parseMemAvailable("MemTotal: 100 kB\nMemAvailable:    2048 kB\n")).hasValue(2048L * 1024);
        assertThat(MemInfo.parseMemAvailable("MemAvailable: 2048\n")).hasValue(2048);
        assertThat(MemInfo.parseMemAvailable("MemFree: 2048 kB\n")).isEmpty();
    }

    @Test
    void slabinfoWithoutConntrackOrUnreadableIsEmpty() {
        FakeHost host = FakeHost.empty(root);
        assertThat(SlabInfo.conntrackObjectSize(host.paths())).isEmpty();
        assertThat(SlabInfo.parse("# name <active_objs> <num_objs> <objsize>\nkmalloc-256 1 1 256\n")).isEmpty();
        FakeHost.write(host.paths().slabinfo(), FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
        assertThat(SlabInfo.conntrackObjectSize(host.paths())).hasValue(256);
    }

    @Test
    void memoryEstimate() {
        assertThat(TableMemory.estimate(131072, 32768, 256)).isEqualTo(131072L * 256 + 32768L * 16);
        assertThat(TableMemory.estimate(1000, 1024, OptionalInt.empty())).isEqualTo(1000L * 320 + 1024L * 16);
        assertThat(TableMemory.estimate(Integer.MAX_VALUE, 67108864, 376)).isEqualTo(2147483647L * 376 + 67108864L * 16);
    }
}
