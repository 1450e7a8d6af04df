package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class ConntrackStatsParserTest {

    private final ConntrackStatsParser parser = new ConntrackStatsParser();

    /** Independent reference: split the fixture, find the column, parse each CPU line's hex. */
    private static long sumColumn(String text, String column) {
        List<String> lines = text.lines().filter(l -> !l.isBlank()).collect(Collectors.toList());
        int index = Arrays.asList(lines.get(0).trim().split("\\s+")).indexOf(column);
        return lines.stream().skip(1)
                .mapToLong(l -> Long.parseUnsignedLong(l.trim().split("\\s+")[index], 16))
                .sum();
    }

    @Test
    void tableFullFixtureSumsCountersAcrossCpusAndTakesEntriesOnce() {
        String text = FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt");

        ConntrackStats stats = parser.parse(text);

        assertThat(stats.cpuLines()).isEqualTo(2);
        assertThat(stats.drop()).hasValue(sumColumn(text, "drop")).hasValue(0x3c70L + 0x1fa19L);
        assertThat(stats.earlyDrop()).hasValue(sumColumn(text, "early_drop")).hasValue(7);
        assertThat(stats.invalid()).hasValue(sumColumn(text, "invalid")).hasValue(10);
        assertThat(stats.insertFailed()).hasValue(0);
        assertThat(stats.clashResolve()).hasValue(0);
        assertThat(stats.searchRestart()).hasValue(0);
        // entries is the table size repeated per CPU: 0x3e8 = 1000, not 2000.
        assertThat(stats.entries()).hasValue(1000);
        assertThat(stats.source()).isEqualTo(ConntrackStats.Source.PROCFS);
    }

    @Test
    void idleFixture() {
        String text = FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt");
        ConntrackStats stats = parser.parse(text);
        assertThat(stats.drop()).hasValue(sumColumn(text, "drop")).hasValue(0x3a78L + 0x1dec5L);
        assertThat(stats.entries()).hasValue(3);
        assertThat(stats.available()).contains(StatCounter.DROP, StatCounter.EARLY_DROP, StatCounter.INSERT_FAILED,
                StatCounter.INVALID, StatCounter.FOUND, StatCounter.INSERT, StatCounter.SEARCH_RESTART,
                StatCounter.CLASH_RESOLVE, StatCounter.CHAIN_TOO_LONG, StatCounter.ICMP_ERROR);
        assertThat(parser.lastHeader()).startsWith("entries", "clashres", "found");
    }

    @Test
    void drainingBetweenTwoFixturesGivesTheDropDelta() {
        long idle = parser.parse(FakeHost.fixture("proc-net-stat-nf_conntrack.idle.txt")).drop().getAsLong();
        long full = parser.parse(FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt")).drop().getAsLong();
        assertThat(full - idle).isEqualTo((0x3c70L + 0x1fa19L) - (0x3a78L + 0x1dec5L));
    }

    @Test
    void columnsAreMatchedByNameWhateverTheOrderAndExtraColumns() {
        // An older kernel: searched, delete_list, no clashres/chainlength, different order, and an
        // unknown column the parser has never heard of.
        String text = "entries searched found new invalid ignore delete delete_list insert insert_failed drop early_drop "
                + "icmp_error expect_new expect_create expect_delete search_restart future_counter\n"
                + "00000010 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008 00000009 0000000a 0000000b "
                + "0000000c 0000000d 0000000e 0000000f 00000011 ffffffff\n"
                + "00000010 00000001 00000002 00000003 00000004 00000005 00000006 00000007 00000008 00000009 000000a0 0000000b "
                + "0000000c 0000000d 0000000e 0000000f 00000011 ffffffff\n";

        ConntrackStats stats = parser.parse(text);

        assertThat(stats.entries()).hasValue(16);
        assertThat(stats.drop()).hasValue(0xa + 0xa0);
        assertThat(stats.earlyDrop()).hasValue(22);
        assertThat(stats.insertFailed()).hasValue(18);
        assertThat(stats.get(StatCounter.SEARCHED)).hasValue(2);
        assertThat(stats.get(StatCounter.DELETE_LIST)).hasValue(14);
        assertThat(stats.searchRestart()).hasValue(0x22);
        // Not in this header: unavailable, not 0.
        assertThat(stats.clashResolve()).isEmpty();
        assertThat(stats.get(StatCounter.CHAIN_TOO_LONG)).isEmpty();
    }

    @Test
    void reorderedHeaderAfterAnotherHeaderIsReparsed() {
        parser.parse(FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt"));
        ConntrackStats stats = parser.parse("drop entries\n00000005 00000064\n00000006 00000064\n");
        assertThat(stats.drop()).hasValue(11);
        assertThat(stats.entries()).hasValue(100);
        assertThat(stats.earlyDrop()).isEmpty();
    }

    @Test
    void missingDropColumnIsUnavailableNotZero() {
        ConntrackStats stats = parser.parse("entries found\n00000001 00000002\n");
        assertThat(stats.drop()).isEqualTo(OptionalLong.empty());
        assertThat(stats.has(StatCounter.DROP)).isFalse();
        assertThat(stats.found()).hasValue(2);
    }

    @Test
    void countersAreUnsigned32BitHexAndBeyond() {
        ConntrackStats stats = parser.parse("drop\nffffffff\nffffffff\n");
        assertThat(stats.drop()).hasValue(2L * 0xffffffffL);
        assertThat(parser.parse("drop\nFFFFFFFFFFFFFFFF\n").drop()).hasValue(Long.parseUnsignedLong("FFFFFFFFFFFFFFFF", 16));
    }

    @Test
    void malformedContentIsAClearError() {
        assertThatThrownBy(() -> parser.parse("")).hasMessageContaining("missing header");
        assertThatThrownBy(() -> parser.parse("entries drop\n00000001\n")).hasMessageContaining("1 values for 2 header columns");
        assertThatThrownBy(() -> parser.parse("entries drop\n00000001 0000000g\n")).hasMessageContaining("column drop: not a hex counter");
        assertThatThrownBy(() -> parser.parse("entries\n00000001 00000002\n")).hasMessageContaining("more values");
    }

    @Test
    void aSecondParseWithTheSameHeaderReadsItsOwnValues() {
        // The header of a running kernel never changes, so its column mapping is kept between
        // parses: the values must still come from the text being parsed, not the last one.
        String text = FakeHost.fixture("proc-net-stat-nf_conntrack.table-full.txt");
        ConntrackStats first = parser.parse(text);
        String header = text.lines().findFirst().orElseThrow();
        String cpuLine = Arrays.stream(header.trim().split("\\s+"))
                .map(column -> switch (column) {
                    case "entries" -> "00000064";
                    case "drop" -> "00000005";
                    case "early_drop" -> "00000002";
                    default -> "00000000";
                })
                .collect(Collectors.joining(" "));

        ConntrackStats second = parser.parse(header + "\n" + cpuLine + "\n" + cpuLine + "\n");

        assertThat(first.drop()).hasValue(0x3c70L + 0x1fa19L);
        assertThat(second.cpuLines()).isEqualTo(2);
        assertThat(second.drop()).hasValue(10);
        assertThat(second.earlyDrop()).hasValue(4);
        assertThat(second.entries()).hasValue(100);
        assertThat(second.invalid()).hasValue(0);
    }

    @Test
    void onlyTheFirstLenBytesOfTheReusedBufferAreRead() {
        // The agent reads the file into one reused buffer: what a longer earlier read left after
        // LEN must not show up as values, columns or CPU lines.
        String text = "entries drop\n00000001 00000002\n00000001 00000003";
        byte[] stale = (text + "4 00000005\n00000001 00000006\n").getBytes(StandardCharsets.US_ASCII);

        ConntrackStats stats = parser.parse(stale, text.length());

        assertThat(stats.cpuLines()).isEqualTo(2);
        assertThat(stats.drop()).hasValue(5);
        assertThat(stats.entries()).hasValue(1);
        // A header the parser has not seen yet (a fresh parser), then a last line of blanks.
        ConntrackStatsParser fresh = new ConntrackStatsParser();
        String headerOnly = "entries drop";
        byte[] staleHeader = (headerOnly + "_x early_drop\n").getBytes(StandardCharsets.US_ASCII);
        assertThat(fresh.parse(staleHeader, headerOnly.length()).cpuLines()).isZero();
        assertThat(fresh.lastHeader()).containsExactly("entries", "drop");
        ConntrackStatsParser another = new ConntrackStatsParser();
        String blankLast = "entries drop\n00000001 00000002\n   ";
        byte[] staleBlank = (blankLast + "7\n").getBytes(StandardCharsets.US_ASCII);
        assertThat(another.parse(staleBlank, blankLast.length()).cpuLines()).isEqualTo(1);
    }

    @Test
    void spacesAroundTheHeaderAndTheValuesAreNotColumns() {
        ConntrackStats stats = parser.parse("  entries   drop  \n  0000000A   0000000F  \n\n   \n0000000a 0000000f\n");
        assertThat(parser.lastHeader()).containsExactly("entries", "drop");
        assertThat(stats.cpuLines()).isEqualTo(2);
        assertThat(stats.drop()).hasValue(30);
        assertThat(stats.entries()).hasValue(10);
    }

    @Test
    void entriesIsTheFirstCpuLinesValueWhenTheTableMovesDuringTheRead() {
        ConntrackStats stats = parser.parse("entries drop\n00000010 00000001\n00000011 00000001\n");
        assertThat(stats.entries()).hasValue(16);
        assertThat(stats.drop()).hasValue(2);
    }

    @Test
    void sixteenHexDigitsAreACounterSeventeenAreNot() {
        assertThat(parser.parse("drop\n000000000000000A\n").drop()).hasValue(10);
        assertThatThrownBy(() -> parser.parse("drop\n0000000000000000A\n")).hasMessage(
                "conntrack stats line 2, column drop: not a hex counter");
        assertThatThrownBy(() -> parser.parse("drop\n00000001\n\n0000000G\n")).hasMessage(
                "conntrack stats line 4, column drop: not a hex counter");
    }
}
