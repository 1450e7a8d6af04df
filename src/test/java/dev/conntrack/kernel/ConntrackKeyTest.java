package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ConntrackKeyTest {

    private final HostPaths paths = new HostPaths(Path.of("/host"));

    @Test
    void bucketsAreWrittenToHashsizeAndReadFromTheSysctl() {
        assertThat(ConntrackKey.BUCKETS.writePath(paths)).isEqualTo(Path.of("/host/sys/module/nf_conntrack/parameters/hashsize"));
        assertThat(ConntrackKey.BUCKETS.readPath(paths)).isEqualTo(Path.of("/host/proc/sys/net/netfilter/nf_conntrack_buckets"));
        assertThat(ConntrackKey.MAX.writePath(paths)).isEqualTo(Path.of("/host/proc/sys/net/netfilter/nf_conntrack_max"));
        assertThat(ConntrackKey.MAX.readPath(paths)).isEqualTo(ConntrackKey.MAX.writePath(paths));
    }

    @Test
    void everyTargetStaysInsideTheNetfilterDirectoryOrIsHashsize() {
        for (ConntrackKey key : ConntrackKey.values()) {
            Path target = key.writePath(paths);
            assertThat(target.equals(paths.hashsize()) || target.getParent().equals(Path.of("/host/proc/sys/net/netfilter")))
                    .as(key.name()).isTrue();
        }
    }

    @Test
    void fieldNamesAreTheSettingsFieldNamesAndRoundTrip() {
        assertThat(Arrays.stream(ConntrackKey.values()).map(ConntrackKey::fieldName)).containsExactly(
                "max", "buckets", "tcpEstablished", "tcpTimeWait", "tcpCloseWait", "tcpSynSent", "tcpSynRecv",
                "tcpFinWait", "udp", "udpStream", "generic", "tcpBeLiberal", "tcpLoose");
        for (ConntrackKey key : ConntrackKey.values()) {
            assertThat(ConntrackKey.fromFieldName(key.fieldName())).contains(key);
        }
        assertThat(ConntrackKey.fromFieldName("maxPerCore")).isEmpty();
        assertThat(ConntrackKey.fromFieldName("nf_conntrack_max")).isEmpty();
    }

    @Test
    void bucketsAcceptTheKernelsPageRoundingOnly() {
        assertThat(ConntrackKey.BUCKETS.liveMatches("1000", "1000")).isTrue();
        assertThat(ConntrackKey.BUCKETS.liveMatches("1000", "1024")).isTrue();   // 4 KiB pages
        assertThat(ConntrackKey.BUCKETS.liveMatches("1000", "2048")).isTrue();   // 16 KiB pages
        assertThat(ConntrackKey.BUCKETS.liveMatches("1000", "8192")).isTrue();   // 64 KiB pages
        assertThat(ConntrackKey.BUCKETS.liveMatches("1000", "1536")).isFalse();
        assertThat(ConntrackKey.BUCKETS.liveMatches("1024", "1536")).isFalse();
        assertThat(ConntrackKey.BUCKETS.liveMatches("65536", "16384")).isFalse();
        assertThat(ConntrackKey.MAX.liveMatches("1000", "1024")).isFalse();
    }

    @Test
    void hostPathsRefuseNamesThatCouldEscape() {
        assertThatThrownBy(() -> paths.netfilterSysctl("../../kernel/core_pattern")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> paths.netfilterSysctl("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> paths.conntrackStats(0)).isInstanceOf(IllegalArgumentException.class);
        assertThat(paths.conntrackStats(42)).isEqualTo(Path.of("/host/proc/42/net/stat/nf_conntrack"));
        assertThat(HostPaths.host().conntrackStats()).isEqualTo(Path.of("/proc/net/stat/nf_conntrack"));
        assertThat(HostPaths.host().devKmsg()).isEqualTo(Path.of("/dev/kmsg"));
        assertThat(HostPaths.host().slabinfo()).isEqualTo(Path.of("/proc/slabinfo"));
        assertThat(HostPaths.host().uptime()).isEqualTo(Path.of("/proc/uptime"));
        assertThat(HostPaths.host().conntrackCount()).isEqualTo(Path.of("/proc/sys/net/netfilter/nf_conntrack_count"));
    }
}
