package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import dev.conntrack.api.ConntrackSettings;
import dev.conntrack.kernel.ConntrackKey;
import org.junit.jupiter.api.Test;

/** Where the API's settings become kernel values (moved here from ConntrackKeyTest with the code). */
class DesiredValuesTest {

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

        assertThat(DesiredValues.of(s).values()).containsExactly(
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
        assertThat(DesiredValues.of(new ConntrackSettings()).values()).isEmpty();
        assertThat(DesiredValues.of(null).values()).isEmpty();
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
        assertThat(DesiredValues.of(s).values()).containsExactly(
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
    void durationRoundingToZeroIsRefusedNamingTheField() {
        ConntrackSettings s = new ConntrackSettings();
        s.setUdp("400ms");
        assertThat(DesiredValues.of(s).invalid().get(ConntrackKey.UDP)).contains("udp").contains("0 seconds");
        assertThat(DesiredValues.of(s).values()).isEmpty();
        s.setUdp("10 s");
        assertThat(DesiredValues.of(s).invalid().get(ConntrackKey.UDP)).startsWith("udp: invalid duration");
    }

    @Test
    void aFloorRaisesMaxAndBucketsButNeverLowersThem() {
        ConntrackSettings s = new ConntrackSettings();
        s.setMax(1000);
        s.setBuckets(4096);
        DesiredValues values = DesiredValues.of(s);
        assertThat(values.withFloor(6251, 0).values()).containsEntry(ConntrackKey.MAX, "6251").containsEntry(ConntrackKey.BUCKETS, "4096");
        assertThat(values.withFloor(500, 8192).values()).containsEntry(ConntrackKey.MAX, "1000").containsEntry(ConntrackKey.BUCKETS, "8192");
        assertThat(values.withFloor(0, 0)).isSameAs(values);
        assertThat(values.withFloor(1000, 4096)).as("a floor equal to the spec changes nothing").isSameAs(values);
        assertThat(values.withFloor(Integer.MAX_VALUE, 0).values()).containsEntry(ConntrackKey.MAX, "2147483647");
        assertThat(values.withFloor(Integer.MAX_VALUE + 1L, 0)).as("beyond what the kernel takes").isSameAs(values);
        assertThat(DesiredValues.of(new ConntrackSettings()).withFloor(6251, 0).values()).containsExactly(entry(ConntrackKey.MAX, "6251"));
    }
}
