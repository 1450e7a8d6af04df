package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class KmsgParserTest {
    private static final Pattern SUPPRESSED = Pattern.compile(";net_ratelimit: (\\d+) callbacks suppressed$");

    /** Reference numbers straight from the fixture lines, without the classes under test. */
    record Expected(long tableFull, long suppressedTotal, long suppressedAfterTableFull) {
        static Expected of(List<String> lines) {
            long tableFull = lines.stream().filter(l -> l.contains("table full, dropping packet")).count();
            long total = 0;
            long attributed = 0;
            String previous = null;
            for (String line : lines) {
                Matcher m = SUPPRESSED.matcher(line);
                if (m.find()) {
                    long n = Long.parseLong(m.group(1));
                    total += n;
                    if (previous != null && previous.contains("table full, dropping packet")) {
                        attributed += n;
                    }
                } else {
                    previous = line;
                }
            }
            return new Expected(tableFull, total, attributed);
        }
    }

    static List<String> fixtureLines() {
        return FakeHost.fixture("dev-kmsg.table-full.txt").lines().collect(Collectors.toList());
    }

    @Test
    void countsTheFixtureExactly() {
        List<String> lines = fixtureLines();
        Expected expected = Expected.of(lines);
        KmsgParser parser = new KmsgParser();

        for (String line : lines) {
            parser.accept(KmsgRecord.parse(line).orElseThrow());
        }

        assertThat(parser.tableFullLines()).isEqualTo(expected.tableFull()).isEqualTo(100);
        assertThat(parser.suppressedTotal()).isEqualTo(expected.suppressedTotal());
        // The fixture opens with a suppressed line that follows nothing we saw: not attributed.
        assertThat(parser.suppressedAttributed()).isEqualTo(expected.suppressedAfterTableFull())
                .isLessThan(parser.suppressedTotal());
        assertThat(parser.tableFullIncludingSuppressed()).isEqualTo(expected.tableFull() + expected.suppressedAfterTableFull());
        assertThat(parser.lastTableFullUsec()).isEqualTo(1279707781L);
    }

    @Test
    void suppressedCountAfterAnotherMessageIsNotAttributed() {
        KmsgParser parser = new KmsgParser();
        parser.accept(record(1, 100, "nf_conntrack: nf_conntrack: table full, dropping packet"));
        assertThat(parser.accept(record(2, 200, "net_ratelimit: 5 callbacks suppressed")))
                .isEqualTo(KmsgParser.Kind.SUPPRESSED_AFTER_TABLE_FULL);
        parser.accept(record(3, 300, "IPv4: martian source 10.0.0.1 from 10.0.0.2, on dev eth0"));
        assertThat(parser.accept(record(4, 400, "net_ratelimit: 7 callbacks suppressed")))
                .isEqualTo(KmsgParser.Kind.SUPPRESSED_OTHER);

        assertThat(parser.suppressedAttributed()).isEqualTo(5);
        assertThat(parser.suppressedTotal()).isEqualTo(12);
        assertThat(parser.tableFullIncludingSuppressed()).isEqualTo(6);
    }

    @Test
    void onlyTheKernelsOwnLineCountsNotAForgedOrQuotedOne() {
        KmsgParser parser = new KmsgParser();
        // echo "nf_conntrack: table full, dropping packet" > /dev/kmsg: facility user, level 4 -> prio 12.
        assertThat(parser.accept(new KmsgRecord(12, 1, 100, "nf_conntrack: nf_conntrack: table full, dropping packet")))
                .isEqualTo(KmsgParser.Kind.OTHER);
        assertThat(parser.accept(new KmsgRecord(12, 2, 110, "net_ratelimit: 1000 callbacks suppressed")))
                .isEqualTo(KmsgParser.Kind.OTHER);
        // An nftables/iptables LOG rule quoting the text in its prefix (29 characters at most): a kernel record.
        assertThat(parser.accept(record(3, 120, "nf_conntrack: table full, dro IN=eth0 OUT= SRC=10.0.0.1 DST=10.0.0.2 PROTO=TCP")))
                .isEqualTo(KmsgParser.Kind.OTHER);
        assertThat(parser.accept(record(4, 130, "audit: table full, dropping packet"))).isEqualTo(KmsgParser.Kind.OTHER);
        assertThat(parser.tableFullIncludingSuppressed()).isZero();
        // The real ones, as kernels print them (doubled prefix on new kernels, single on old).
        assertThat(parser.accept(record(5, 140, "nf_conntrack: nf_conntrack: table full, dropping packet"))).isEqualTo(KmsgParser.Kind.TABLE_FULL);
        assertThat(parser.accept(record(6, 150, "nf_conntrack: table full, dropping packet"))).isEqualTo(KmsgParser.Kind.TABLE_FULL);
        // A forged suppressed count right after a real line is not attributed either.
        assertThat(parser.accept(new KmsgRecord(12, 7, 160, "net_ratelimit: 1000 callbacks suppressed"))).isEqualTo(KmsgParser.Kind.OTHER);
        assertThat(parser.tableFullIncludingSuppressed()).isEqualTo(2);
    }

    @Test
    void otherRatelimitersAreNotNetRatelimit() {
        assertThat(KmsgParser.suppressedCount("net_ratelimit: 1992 callbacks suppressed")).isEqualTo(1992);
        assertThat(KmsgParser.suppressedCount("ext4_error: 3 callbacks suppressed")).isEqualTo(-1);
        assertThat(KmsgParser.suppressedCount("net_ratelimit: many callbacks suppressed")).isEqualTo(-1);
    }

    @Test
    void recordHeaderContinuationAndCallerField() {
        KmsgRecord r = KmsgRecord.parse("4,344,535209879,-;nf_conntrack: nf_conntrack: table full, dropping packet").orElseThrow();
        assertThat(r.priority()).isEqualTo(4);
        assertThat(r.sequence()).isEqualTo(344);
        assertThat(r.usec()).isEqualTo(535209879L);
        assertThat(r.message()).isEqualTo("nf_conntrack: nf_conntrack: table full, dropping packet");

        // A device record with continuation lines: only the first line is the message.
        KmsgRecord withDict = KmsgRecord.parse("6,1000,2000,-;e1000e: eth0 NIC Link is Up\n SUBSYSTEM=net\n DEVICE=n2\n").orElseThrow();
        assertThat(withDict.message()).isEqualTo("e1000e: eth0 NIC Link is Up");

        KmsgRecord withCaller = KmsgRecord.parse("4,7,8,-,caller=C1;net_ratelimit: 3 callbacks suppressed").orElseThrow();
        assertThat(withCaller.sequence()).isEqualTo(7);
        assertThat(withCaller.message()).isEqualTo("net_ratelimit: 3 callbacks suppressed");

        assertThat(KmsgRecord.parse(" SUBSYSTEM=net")).isEmpty();
        assertThat(KmsgRecord.parse("")).isEmpty();
        assertThat(KmsgRecord.parse("garbage without fields")).isEmpty();
        assertThat(KmsgRecord.parse("4,x,8,-;msg")).isEmpty();
    }

    private static KmsgRecord record(long seq, long usec, String message) {
        return new KmsgRecord(4, seq, usec, message);
    }
}
