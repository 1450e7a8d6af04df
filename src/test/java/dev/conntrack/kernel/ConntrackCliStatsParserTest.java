package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ConntrackCliStatsParserTest {

    private static long sum(String text, String name) {
        Matcher m = Pattern.compile("(?<![a-z_])" + name + "=(\\d+)").matcher(text);
        long total = 0;
        while (m.find()) {
            total += Long.parseLong(m.group(1));
        }
        return total;
    }

    @Test
    void fixtureSumsPerCpuLines() {
        String text = FakeHost.fixture("conntrack-S.table-full.txt");

        ConntrackStats stats = ConntrackCliStatsParser.parse(text);

        assertThat(stats.source()).isEqualTo(ConntrackStats.Source.NETLINK);
        assertThat(stats.cpuLines()).isEqualTo(2);
        assertThat(stats.drop()).hasValue(sum(text, "drop")).hasValue(15472 + 129561);
        assertThat(stats.earlyDrop()).hasValue(sum(text, "early_drop")).hasValue(7);
        assertThat(stats.invalid()).hasValue(10);
        assertThat(stats.insertFailed()).hasValue(0);
        // netlink names mapped onto the procfs counters
        assertThat(stats.clashResolve()).hasValue(0);
        assertThat(stats.get(StatCounter.ICMP_ERROR)).hasValue(0);
        assertThat(stats.get(StatCounter.CHAIN_TOO_LONG)).hasValue(0);
        // conntrack -S has no table size
        assertThat(stats.entries()).isEmpty();
    }

    @Test
    void netlinkAndProcfsAgreeOnTheSameMoment() {
        ConntrackStats netlink = ConntrackCliStatsParser.parse(FakeHost.fixture("conntrack-S.table-full.txt"));
        ConntrackStats procfs = new ConntrackStatsParser().parse(FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        for (StatCounter c : new StatCounter[] {StatCounter.DROP, StatCounter.EARLY_DROP, StatCounter.INVALID, StatCounter.INSERT_FAILED}) {
            assertThat(netlink.get(c)).as(c.name()).isEqualTo(procfs.get(c));
        }
    }

    @Test
    void noCpuLinesOrBadNumbersAreErrors() {
        assertThatThrownBy(() -> ConntrackCliStatsParser.parse("conntrack v1.4.7 (conntrack-tools): operation failed\n"))
                .hasMessageContaining("no cpu= lines");
        assertThatThrownBy(() -> ConntrackCliStatsParser.parse("cpu=0 drop=x\n")).hasMessageContaining("drop is not a number");
        assertThatThrownBy(() -> ConntrackCliStatsParser.parse("conntrack v1.4.7\ncpu=0 drop=1\ncpu=1 found=2 drop=1x\n"))
                .hasMessage("conntrack -S line 3: drop is not a number: 1x");
    }
}
