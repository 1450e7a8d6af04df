package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import dev.conntrack.api.ConntrackSettings;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class ConntrackKeyTest {

    private final HostPaths paths = new HostPaths(Path.of("/host"));

    @Test
    void desiredHoldsOnlySetFieldsInApplyOrderAsKernelText() {
        ConntrackSettings s = new ConntrackSettings();
        s.setTcpTimeWait("30s");
        s.setMax(131072);
        s.setTcpBeLiberal(true);
        s.setTcpLoose(false);
        s.setUdpStream("2m");
        s.setTcpEstablished("1h30m");
        s.setBuckets(32768);
        // Resolved by the operator into max; must never reach the kernel on their own.
        s.setMaxPerCore(32768);
        s.setMin(131072);

        assertThat(ConntrackKey.desired(s)).containsExactly(
                entry(ConntrackKey.MAX, "131072"),
                entry(ConntrackKey.BUCKETS, "32768"),
                entry(ConntrackKey.TCP_ESTABLISHED, "5400"),
                entry(ConntrackKey.TCP_TIME_WAIT, "30"),
                entry(ConntrackKey.UDP_STREAM, "120"),
                entry(ConntrackKey.TCP_BE_LIBERAL, "1"),
                entry(ConntrackKey.TCP_LOOSE, "0"));
    }

    @Test
    void emptyOrNullSettingsDesireNothing() {
        assertThat(ConntrackKey.desired(new ConntrackSettings())).isEmpty();
        assertThat(ConntrackKey.desired(null)).isEmpty();
    }

    @Test
    void everyDurationFieldMapsToItsSysctl() {
        ConntrackSettings s = new ConntrackSettings();
        s.setTcpEstablished("1s");
        s.setTcpTimeWait("2s");
        s.setTcpCloseWait("3s");
        s.setTcpSynSent("4s");
        s.setTcpSynRecv("5s");
        s.setTcpFinWait("6s");
        s.setUdp("7s");
        s.setUdpStream("8s");
        s.setGeneric("9s");
        assertThat(ConntrackKey.desired(s)).containsExactly(
                entry(ConntrackKey.TCP_ESTABLISHED, "1"),
                entry(ConntrackKey.TCP_TIME_WAIT, "2"),
                entry(ConntrackKey.TCP_CLOSE_WAIT, "3"),
                entry(ConntrackKey.TCP_SYN_SENT, "4"),
                entry(ConntrackKey.TCP_SYN_RECV, "5"),
                entry(ConntrackKey.TCP_FIN_WAIT, "6"),
                entry(ConntrackKey.UDP, "7"),
                entry(ConntrackKey.UDP_STREAM, "8"),
                entry(ConntrackKey.GENERIC, "9"));
        assertThat(ConntrackKey.TCP_ESTABLISHED.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_established");
        assertThat(ConntrackKey.TCP_TIME_WAIT.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_time_wait");
        assertThat(ConntrackKey.TCP_CLOSE_WAIT.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_close_wait");
        assertThat(ConntrackKey.TCP_SYN_SENT.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_syn_sent");
        assertThat(ConntrackKey.TCP_SYN_RECV.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_syn_recv");
        assertThat(ConntrackKey.TCP_FIN_WAIT.sysctlName()).isEqualTo("nf_conntrack_tcp_timeout_fin_wait");
        assertThat(ConntrackKey.UDP.sysctlName()).isEqualTo("nf_conntrack_udp_timeout");
        assertThat(ConntrackKey.UDP_STREAM.sysctlName()).isEqualTo("nf_conntrack_udp_timeout_stream");
        assertThat(ConntrackKey.GENERIC.sysctlName()).isEqualTo("nf_conntrack_generic_timeout");
        assertThat(ConntrackKey.TCP_BE_LIBERAL.sysctlName()).isEqualTo("nf_conntrack_tcp_be_liberal");
        assertThat(ConntrackKey.TCP_LOOSE.sysctlName()).isEqualTo("nf_conntrack_tcp_loose");
    }

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
    void durationRoundingToZeroIsRefusedNamingTheField() {
        ConntrackSettings s = new ConntrackSettings();
        s.setUdp("400ms");
        assertThatThrownBy(() -> ConntrackKey.UDP.kernelValue(s))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("udp").hasMessageContaining("0 seconds");
        s.setUdp("10 s");
        assertThatThrownBy(() -> ConntrackKey.UDP.kernelValue(s)).hasMessageStartingWith("udp: invalid duration");
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
