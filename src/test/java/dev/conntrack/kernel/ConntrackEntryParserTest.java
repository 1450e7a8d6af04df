package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The table-line parser on its own: the fields of real lines (the first line of each kernel 6.18
 * capture, and the protocols the kernel prints without ports or a state), the limits of each
 * field, and that it reads only the range it is given: the summarizer hands it one line of a
 * large buffer, so a byte just past the end must never change the result.
 */
class ConntrackEntryParserTest {
    private static final String PROC_LINE = FakeHost.fixture("proc-net-nf_conntrack.table-full.txt").lines().findFirst().orElseThrow();
    private static final String EXTENDED_LINE = FakeHost.fixture("conntrack-L-extended.table-full.txt").lines().findFirst().orElseThrow();
    private static final String UDP_UNREPLIED = "ipv4     2 udp      17 29 src=10.0.0.5 dst=169.254.20.10 sport=53211 dport=53"
            + " [UNREPLIED] src=169.254.20.10 dst=10.0.0.5 sport=53 dport=53211 mark=0 zone=0 use=2";
    private static final String ICMP = "ipv4     2 icmp     1 29 src=10.0.0.5 dst=10.0.0.1 type=8 code=0 id=7"
            + " src=10.0.0.1 dst=10.0.0.5 type=0 code=0 id=7 mark=0 zone=0 use=2";
    private static final String PLAIN_V6 = "tcp      6 431999 ESTABLISHED src=fd00::2 dst=fd00::1 sport=40000 dport=443"
            + " src=fd00::1 dst=fd00::2 sport=443 dport=40000 [ASSURED] mark=0 use=1";

    private final ConntrackEntryParser parser = new ConntrackEntryParser();

    @Test
    void procLineOfTheTableFullCapture() {
        assertThat(parse(PROC_LINE)).isTrue();
        assertFields(PROC_LINE, false, "tcp", 6, "TIME_WAIT", "10.200.1.2", "10.200.0.80", 8080, true, false);
    }

    @Test
    void extendedConntrackListingLine() {
        assertThat(parse(EXTENDED_LINE)).isTrue();
        assertFields(EXTENDED_LINE, false, "tcp", 6, "TIME_WAIT", "10.200.1.2", "10.200.0.80", 8080, true, false);
    }

    @Test
    void udpWithoutAStateAndUnrepliedAfterTheOriginalTuple() {
        assertThat(parse(UDP_UNREPLIED)).isTrue();
        assertFields(UDP_UNREPLIED, false, "udp", 17, "", "10.0.0.5", "169.254.20.10", 53, false, true);
    }

    @Test
    void icmpHasNoPorts() {
        assertThat(parse(ICMP)).isTrue();
        assertFields(ICMP, false, "icmp", 1, "", "10.0.0.5", "10.0.0.1", ConntrackEntryParser.NO_PORT, false, false);
    }

    @Test
    void withoutAFamilyColumnTheAddressTellsV6FromV4() {
        assertThat(parse(PLAIN_V6)).isTrue();
        assertFields(PLAIN_V6, true, "tcp", 6, "ESTABLISHED", "fd00::2", "fd00::1", 443, true, false);
        String plainV4 = PROC_LINE.substring(PROC_LINE.indexOf("tcp"));
        assertThat(parse(plainV4)).isTrue();
        assertThat(parser.l3IsV6).isFalse();
        // A four-letter protocol is not taken for the family column.
        String plainIcmp = ICMP.substring(ICMP.indexOf("icmp"));
        assertThat(parse(plainIcmp)).as(parser.problem).isTrue();
        assertFields(plainIcmp, false, "icmp", 1, "", "10.0.0.5", "10.0.0.1", ConntrackEntryParser.NO_PORT, false, false);
        String v6Column = "ipv6     10 " + PLAIN_V6;
        assertThat(parse(v6Column)).isTrue();
        assertThat(parser.l3IsV6).isTrue();
        assertThat(parser.l4Number).isEqualTo(6);
    }

    @Test
    void onlyTheGivenRangeIsRead() {
        // Garbage around the line that would change every field if it were read: a token glued to
        // the last one, a flag, more digits, an '=' and a ':'.
        for (String line : new String[] {PROC_LINE, EXTENDED_LINE, UDP_UNREPLIED, ICMP, PLAIN_V6,
                "tcp 6 10 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=80",
                "tcp 6 10 SYN_SENT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=80 src=10.0.0.2 dst=10.0.0.1",
                "tcp 6 10 src=10.0.0.1 dst=10.0.0.2"}) {
            ConntrackEntryParser alone = new ConntrackEntryParser();
            byte[] bare = line.getBytes(StandardCharsets.US_ASCII);
            boolean expected = alone.parse(bare, 0, bare.length);
            for (String after : new String[] {"9[ASSURED] [UNREPLIED]", "=:x", "5 dport=9", "[UNREPLIED]"}) {
                byte[] buf = ("src=9.9.9.9 [ASSURED] " + line + after).getBytes(StandardCharsets.US_ASCII);
                int start = "src=9.9.9.9 [ASSURED] ".length();
                assertThat(parser.parse(buf, start, start + bare.length)).as(line + " | " + after).isEqualTo(expected);
                assertThat(parser.assured).as(line + " | " + after).isEqualTo(alone.assured);
                assertThat(parser.unreplied).as(line + " | " + after).isEqualTo(alone.unreplied);
                assertThat(parser.dport).as(line + " | " + after).isEqualTo(alone.dport);
                assertThat(parser.problem).as(line + " | " + after).isEqualTo(alone.problem);
                if (expected) {
                    assertThat(text(buf, parser.dstOff, parser.dstLen)).isEqualTo(text(bare, alone.dstOff, alone.dstLen));
                    assertThat(parser.stateLen).isEqualTo(alone.stateLen);
                    assertThat(parser.l3IsV6).isEqualTo(alone.l3IsV6);
                }
            }
        }
    }

    @Test
    void aTruncatedLineIsMalformedNeverAnException() {
        String[] cut = {"ipv4", "ipv4     2", "ipv4     2 tcp", "ipv4     2 tcp      6", "ipv4     2 tcp      6 114",
                "ipv4     2 tcp      6 114 TIME_WAIT", "ipv4     2 tcp      6 114 TIME_WAIT src=10.200.1.2"};
        String[] problems = {"no l3 protocol number after ipv4", "no protocol name", "no protocol number", "no timeout",
                "no src= and dst= of the original direction", "no src= and dst= of the original direction",
                "no src= and dst= of the original direction"};
        for (int i = 0; i < cut.length; i++) {
            byte[] exact = cut[i].getBytes(StandardCharsets.US_ASCII);
            assertThat(parser.parse(exact, 0, exact.length)).as(cut[i]).isFalse();
            assertThat(parser.problem).as(cut[i]).isEqualTo(problems[i]);
        }
        assertThat(parse("")).isFalse();
        assertThat(parser.problem).isEqualTo("empty line");
        assertThat(parse("   \t ")).isFalse();
        assertThat(parser.problem).isEqualTo("empty line");
    }

    @Test
    void everyByteUpToSpaceSeparatesTokens() {
        String withTabs = PROC_LINE.replace("     ", "\t").replace(" ", "\u0000") + "\r";
        assertThat(parse(withTabs)).isTrue();
        assertThat(parser.dport).isEqualTo(8080);
        assertThat(parser.assured).isTrue();
        assertThat(text(withTabs.getBytes(StandardCharsets.US_ASCII), parser.srcOff, parser.srcLen)).isEqualTo("10.200.1.2");
        // A byte above 127 (negative as a Java byte) belongs to a token.
        String highByte = "tcp 6 10 ESTABLISHED src=10.0.0.1\u00e9 dst=10.0.0.2 sport=1 dport=80";
        byte[] latin = highByte.getBytes(StandardCharsets.ISO_8859_1);
        assertThat(parser.parse(latin, 0, latin.length)).isTrue();
        assertThat(parser.srcLen).isEqualTo("10.0.0.1".length() + 1);
    }

    @Test
    void theProtocolNameStartsWithALetterAndItsNumberIsAByte() {
        for (String name : new String[] {"a", "z", "A", "Z", "udplite"}) {
            assertThat(parse(name + " 136 30 src=10.0.0.1 dst=10.0.0.2")).as(name).isTrue();
        }
        for (String name : new String[] {"@x", "[x", "`x", "{x", "1x", "-x"}) {
            assertThat(parse(name + " 136 30 src=10.0.0.1 dst=10.0.0.2")).as(name).isFalse();
            assertThat(parser.problem).isEqualTo("no protocol name");
        }
        assertThat(parse("unknown 255 30 src=10.0.0.1 dst=10.0.0.2")).isTrue();
        assertThat(parser.l4Number).isEqualTo(255);
        assertThat(parse("unknown 0 30 src=10.0.0.1 dst=10.0.0.2")).isTrue();
        assertThat(parse("unknown 256 30 src=10.0.0.1 dst=10.0.0.2")).isFalse();
        assertThat(parser.problem).isEqualTo("no protocol number");
    }

    @Test
    void numbersAreDecimalUpToTheIntRange() {
        assertThat(parse("tcp 6 0 CLOSE src=10.0.0.1 dst=10.0.0.2")).as("timeout 0").isTrue();
        assertThat(parse("tcp 6 1000000000 CLOSE src=10.0.0.1 dst=10.0.0.2")).as("ten digits").isTrue();
        assertThat(parse("tcp 6 2147483647 CLOSE src=10.0.0.1 dst=10.0.0.2")).as("Integer.MAX_VALUE").isTrue();
        for (String timeout : new String[] {"2147483648", "10000000000", "9x", "-1", "x"}) {
            assertThat(parse("tcp 6 " + timeout + " CLOSE src=10.0.0.1 dst=10.0.0.2")).as(timeout).isFalse();
            assertThat(parser.problem).isEqualTo("no timeout");
        }
        assertThat(parse("tcp 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=9 dport=65535")).isTrue();
        assertThat(parser.dport).isEqualTo(65535);
        assertThat(parse("tcp 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=9 dport=0")).isTrue();
        assertThat(parser.dport).isZero();
        assertThat(parse("tcp 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2 sport=9 dport=65536")).isFalse();
        assertThat(parser.problem).isEqualTo("dport is not a port number");
        assertThat(parse("ipv4 x tcp 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2")).isFalse();
        assertThat(parser.problem).isEqualTo("no l3 protocol number after ipv4");
    }

    @Test
    void emptyFieldsAreNotTakenForValues() {
        // "src=", "dst=" and "dport=" without a value are skipped, not read as an empty address or port 0.
        assertThat(parse("tcp 6 99 CLOSE src= src=10.0.0.1 dst= dst=10.0.0.2 dport= dport=80 src=10.0.0.2 dst=10.0.0.1")).isTrue();
        assertThat(parser.srcLen).isEqualTo("10.0.0.1".length());
        assertThat(parser.dstLen).isEqualTo("10.0.0.2".length());
        assertThat(parser.dport).isEqualTo(80);
    }

    @Test
    void fieldsUpTo64BytesAreAcceptedLongerOnesMakeTheLineMalformed() {
        String state64 = "S".repeat(ConntrackEntryParser.MAX_FIELD);
        assertThat(ConntrackEntryParser.MAX_FIELD).isEqualTo(64);
        assertThat(parse("tcp 6 99 " + state64 + " src=10.0.0.1 dst=10.0.0.2")).isTrue();
        assertThat(parser.stateLen).isEqualTo(64);
        assertThat(parse("tcp 6 99 " + state64 + "S src=10.0.0.1 dst=10.0.0.2")).isFalse();
        assertThat(parser.problem).isEqualTo("state word too long");

        String field64 = "1".repeat(64);
        String field65 = "1".repeat(65);
        assertThat(parse("tcp 6 99 CLOSE src=" + field64 + " dst=" + field64)).isTrue();
        assertThat(parse("tcp 6 99 CLOSE src=" + field65 + " dst=10.0.0.2")).isFalse();
        assertThat(parser.problem).isEqualTo("field too long");
        assertThat(parse("tcp 6 99 CLOSE src=10.0.0.1 dst=" + field65)).isFalse();
        assertThat(parser.problem).isEqualTo("field too long");
        assertThat(parse("t".repeat(64) + " 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2")).isTrue();
        assertThat(parse("t".repeat(65) + " 6 99 CLOSE src=10.0.0.1 dst=10.0.0.2")).isFalse();
        assertThat(parser.problem).isEqualTo("field too long");
    }

    @Test
    void flagsAnywhereAfterTheReplyTupleCountAndOtherBracketsDoNot() {
        assertThat(parse("udp 17 29 src=10.0.0.5 dst=10.0.0.1 sport=1 dport=53 src=10.0.0.1 dst=10.0.0.5 sport=53 dport=1 [UNREPLIED]"))
                .isTrue();
        assertThat(parser.unreplied).isTrue();
        assertThat(parser.assured).isFalse();
        assertThat(parse("udp 17 29 src=10.0.0.5 dst=10.0.0.1 sport=1 dport=53 [OFFLOAD] src=10.0.0.1 dst=10.0.0.5 [HW_OFFLOAD] [ASSURE]"))
                .isTrue();
        assertThat(parser.unreplied).isFalse();
        assertThat(parser.assured).isFalse();
        assertThat(parse("udp 17 29 [ASSURED] src=10.0.0.5 dst=10.0.0.1 sport=1 dport=53")).isTrue();
        assertThat(parser.assured).as("a flag where a state word would be").isTrue();
        assertThat(parser.stateLen).isZero();
    }

    @Test
    void aReusedParserKeepsNothingOfThePreviousLine() {
        assertThat(parse(PROC_LINE)).isTrue();
        assertThat(parse(ICMP)).isTrue();
        assertFields(ICMP, false, "icmp", 1, "", "10.0.0.5", "10.0.0.1", ConntrackEntryParser.NO_PORT, false, false);
        assertThat(parse("x")).isFalse();
        assertThat(parse(UDP_UNREPLIED)).isTrue();
        assertThat(parser.problem).isNull();
    }

    private boolean parse(String line) {
        byte[] buf = line.getBytes(StandardCharsets.ISO_8859_1);
        return parser.parse(buf, 0, buf.length);
    }

    private void assertFields(String line, boolean v6, String l4, int l4Number, String state, String src, String dst, int dport,
            boolean assured, boolean unreplied) {
        byte[] buf = line.getBytes(StandardCharsets.US_ASCII);
        assertThat(parser.l3IsV6).isEqualTo(v6);
        assertThat(text(buf, parser.l4Off, parser.l4Len)).isEqualTo(l4);
        assertThat(parser.l4Number).isEqualTo(l4Number);
        assertThat(text(buf, parser.stateOff, parser.stateLen)).isEqualTo(state);
        assertThat(text(buf, parser.srcOff, parser.srcLen)).isEqualTo(src);
        assertThat(text(buf, parser.dstOff, parser.dstLen)).isEqualTo(dst);
        assertThat(parser.dport).isEqualTo(dport);
        assertThat(parser.assured).isEqualTo(assured);
        assertThat(parser.unreplied).isEqualTo(unreplied);
        assertThat(parser.problem).isNull();
    }

    private static String text(byte[] buf, int off, int len) {
        return new String(buf, off, len, StandardCharsets.ISO_8859_1);
    }
}
