package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.agent.core.Recommendation.Kind;
import dev.conntrack.agent.core.Recommendation.SuggestedSetting;
import dev.conntrack.kernel.ConntrackTableSummarizer;
import dev.conntrack.kernel.FakeHost;
import dev.conntrack.kernel.HeavyHitters;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.kernel.SlabInfo;
import dev.conntrack.kernel.TableMemory;
import dev.conntrack.kernel.TableSummary;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import org.junit.jupiter.api.Test;

class PressureRecommendationsTest {
    private static final long GIB = 1024L * 1024 * 1024;
    /** The lab's 10 s poll during the capture: drop rose by ~57k. */
    private static final DropRate DROPPING = new DropRate(Duration.ofSeconds(10), OptionalLong.of(57_000),
            OptionalDouble.of(5700), OptionalLong.of(10));
    private static final DropRate QUIET = new DropRate(Duration.ofSeconds(10), OptionalLong.of(0),
            OptionalDouble.of(0), OptionalLong.of(0));

    /** The captured table-full listing: 1000 entries, all TIME_WAIT and ASSURED, one client. */
    private static TableSummary fixtureSummary(long maxEntries) throws IOException {
        var limits = new ConntrackTableSummarizer.Limits(maxEntries, Duration.ofSeconds(30), 10, 64);
        var summarizer = new ConntrackTableSummarizer(new HostPaths(Path.of("/nonexistent")),
                (command, timeout) -> { throw new IOException("no commands in unit tests"); }, limits);
        byte[] table = FakeHost.fixture("proc-net-nf_conntrack.table-full.txt").getBytes(StandardCharsets.US_ASCII);
        return summarizer.summarize(new ByteArrayInputStream(table), TableSummary.Source.STREAM);
    }

    private static OptionalInt slabObjectSize() {
        return SlabInfo.parse(FakeHost.fixture("proc-slabinfo.nf_conntrack.txt"));
    }

    private static PressureRecommendations.Context context(DropRate drops, long buckets, Duration timeWait, OptionalLong memAvailable) {
        return new PressureRecommendations.Context(OptionalLong.of(1000), OptionalLong.of(1000), OptionalLong.of(buckets),
                drops, slabObjectSize(), Optional.ofNullable(timeWait), memAvailable);
    }

    private static Recommendation only(List<Recommendation> all, Kind kind) {
        List<Recommendation> of = all.stream().filter(r -> r.kind() == kind).toList();
        assertThat(of).as("%s in %s", kind, all).hasSize(1);
        return of.get(0);
    }

    @Test
    void capturedTableFullListingGetsAllThreePiecesOfAdvice() throws IOException {
        TableSummary summary = fixtureSummary(1_000_000);
        assertThat(slabObjectSize()).hasValue(256);

        List<Recommendation> advice = PressureRecommendations.recommend(summary,
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(20 * GIB)));

        assertThat(advice).extracting(Recommendation::kind)
                .containsExactly(Kind.TIME_WAIT_DOMINATES, Kind.SOURCE_DOMINATES, Kind.RAISE_MAX);

        Recommendation timeWait = advice.get(0);
        // 1000 TIME_WAIT entries scale with the timeout: 120 s -> 30 s keeps a quarter.
        assertThat(timeWait.settings()).containsExactly(new SuggestedSetting("tcpTimeWait", "30s"));
        assertThat(timeWait.message())
                .startsWith("TIME_WAIT holds 100% of the table (1000 of 1000 entries listed).")
                .contains("tcpTimeWait 120s -> 30s would free about 750 entries")
                .contains("1000 x (1 - 30/120)");

        Recommendation source = advice.get(1);
        assertThat(source.settings()).isEmpty();
        assertThat(source.message()).startsWith("One source address holds 100% of the table: 10.200.1.2 (1000 of 1000 entries listed).");

        Recommendation raise = advice.get(2);
        assertThat(raise.settings()).containsExactly(new SuggestedSetting("max", "2000"), new SuggestedSetting("buckets", "500"));
        long extra = TableMemory.estimate(2000, 500, 256) - TableMemory.estimate(1000, 256, 256);
        assertThat(extra).isEqualTo(259_904);
        assertThat(raise.message())
                .startsWith("The table is full: 57000 packets dropped in the last 10s.")
                .contains("Raising max 1000 -> 2000 and buckets 256 -> 500 (max / 4, as kube-proxy sizes them)")
                .contains("costs up to 254 KiB more kernel memory (entries x 256 bytes + buckets x 16 bytes)")
                .endsWith("0.0% of the 20.0 GiB available.");
    }

    @Test
    void bucketsAlreadyLargeEnoughAreLeftAlone() throws IOException {
        List<Recommendation> advice = PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 262_144, Duration.ofSeconds(120), OptionalLong.of(20 * GIB)));

        assertThat(only(advice, Kind.RAISE_MAX).settings()).containsExactly(new SuggestedSetting("max", "2000"));
    }

    @Test
    void withoutDropsThereIsNoRaise() throws IOException {
        List<Recommendation> advice = PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(QUIET, 256, Duration.ofSeconds(120), OptionalLong.of(20 * GIB)));

        assertThat(advice).extracting(Recommendation::kind).containsExactly(Kind.TIME_WAIT_DOMINATES, Kind.SOURCE_DOMINATES);
        assertThat(PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DropRate.UNKNOWN, 256, Duration.ofSeconds(120), OptionalLong.of(20 * GIB))))
                .extracting(Recommendation::kind).doesNotContain(Kind.RAISE_MAX);
    }

    @Test
    void tightMemoryGetsTheLargestMaxThatFits() throws IOException {
        long available = 1024 * 1024; // 10% spare = 104857 bytes: room for ~400 more entries of 256 B
        List<Recommendation> advice = PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(available)));

        Recommendation raise = only(advice, Kind.RAISE_MAX);
        long max = Long.parseLong(raise.settings().get(0).value());
        long spare = (long) (available * PressureRecommendations.SPARE_MEMORY_SHARE);
        long now = TableMemory.estimate(1000, 256, 256);
        assertThat(max).isBetween(1250L, 1999L);
        assertThat(TableMemory.estimate(max, Math.max(256, max / 4), 256) - now).isLessThanOrEqualTo(spare);
        assertThat(TableMemory.estimate(max + 1, Math.max(256, (max + 1) / 4), 256) - now).isGreaterThan(spare);
    }

    @Test
    void noMeaningfulRoomIsSaidPlainly() throws IOException {
        List<Recommendation> advice = PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(200 * 1024)));

        Recommendation none = only(advice, Kind.NO_SPARE_MEMORY);
        assertThat(none.settings()).isEmpty();
        assertThat(none.message()).contains("Doubling max to 2000 would take 254 KiB more kernel memory")
                .contains("more than 10% of the 200 KiB available");
    }

    @Test
    void shortTimeWaitAlreadyOrUnknownTimeout() throws IOException {
        TableSummary summary = fixtureSummary(1_000_000);
        assertThat(PressureRecommendations.recommend(summary, context(QUIET, 256, Duration.ofSeconds(30), OptionalLong.empty())))
                .extracting(Recommendation::kind).containsExactly(Kind.SOURCE_DOMINATES);

        Recommendation unknown = only(PressureRecommendations.recommend(summary, context(QUIET, 256, null, OptionalLong.empty())),
                Kind.TIME_WAIT_DOMINATES);
        assertThat(unknown.settings()).containsExactly(new SuggestedSetting("tcpTimeWait", "30s"));
        assertThat(unknown.message()).contains("current value unknown, so no estimate");
    }

    @Test
    void aTruncatedListingSaysSoAndScalesToTheLiveCount() throws IOException {
        TableSummary first100 = fixtureSummary(100);
        assertThat(first100.truncated()).isTrue();

        Recommendation timeWait = only(PressureRecommendations.recommend(first100,
                context(QUIET, 256, Duration.ofSeconds(120), OptionalLong.empty())), Kind.TIME_WAIT_DOMINATES);

        // 100% of the 100 listed, applied to the live count of 1000.
        assertThat(timeWait.message()).contains("(100 of 100 entries listed, the listing stopped at its entry cap)")
                .contains("would free about 750 entries");
    }

    @Test
    void aSourceIsNamedOnlyOnItsGuaranteedCount() {
        // 600 of 1000 as counted, but Space-Saving says it may be 200 over: only 400 are certain.
        TableSummary approximate = summary(List.of(new HeavyHitters.Top("10.0.0.7", 600, 200)));
        TableSummary exact = summary(List.of(new HeavyHitters.Top("10.0.0.7", 600, 0)));
        PressureRecommendations.Context context = context(QUIET, 256, Duration.ofSeconds(120), OptionalLong.empty());

        assertThat(PressureRecommendations.recommend(approximate, context)).isEmpty();
        assertThat(only(PressureRecommendations.recommend(exact, context), Kind.SOURCE_DOMINATES).message())
                .startsWith("One source address holds 60% of the table: 10.0.0.7 (600 of 1000 entries listed).");
    }

    @Test
    void anEmptyListingStillReportsDrops() {
        TableSummary empty = summary(List.of());
        List<Recommendation> advice = PressureRecommendations.recommend(new TableSummary(TableSummary.Source.STREAM, 0, 0,
                Optional.empty(), TableSummary.Truncation.NONE, Duration.ZERO, Map.of(), Map.of(), Map.of(), 0, 0,
                List.of(), List.of(), List.of()), context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.empty()));

        assertThat(empty.entries()).isEqualTo(1000);
        assertThat(advice).extracting(Recommendation::kind).containsExactly(Kind.RAISE_MAX);
        assertThat(advice.get(0).message()).endsWith("; available memory unknown.");
    }

    @Test
    void moreThanHalfIsDominantExactlyHalfIsNot() {
        PressureRecommendations.Context context = context(QUIET, 256, Duration.ofSeconds(120), OptionalLong.empty());
        assertThat(PressureRecommendations.recommend(timeWaits(1000, 500, TableSummary.Truncation.NONE), context)).isEmpty();
        assertThat(only(PressureRecommendations.recommend(timeWaits(1000, 501, TableSummary.Truncation.NONE), context),
                Kind.TIME_WAIT_DOMINATES).message()).startsWith("TIME_WAIT holds 50.1% of the table (501 of 1000 entries listed).");

        assertThat(PressureRecommendations.recommend(summary(List.of(new HeavyHitters.Top("10.0.0.7", 500, 0))), context)).isEmpty();
        assertThat(PressureRecommendations.recommend(summary(List.of(new HeavyHitters.Top("10.0.0.7", 501, 0))), context))
                .extracting(Recommendation::kind).containsExactly(Kind.SOURCE_DOMINATES);
    }

    @Test
    void nearlyAllIsNeverRoundedUpToAHundredPercent() {
        PressureRecommendations.Context context = context(QUIET, 256, null, OptionalLong.empty());
        assertThat(only(PressureRecommendations.recommend(timeWaits(2000, 1999, TableSummary.Truncation.NONE), context),
                Kind.TIME_WAIT_DOMINATES).message()).startsWith("TIME_WAIT holds 99.9% of the table");
        assertThat(only(PressureRecommendations.recommend(timeWaits(10_000, 9_999, TableSummary.Truncation.NONE), context),
                Kind.TIME_WAIT_DOMINATES).message()).startsWith("TIME_WAIT holds 99.9% of the table");
    }

    @Test
    void aListingCutAtItsDeadlineSaysSo() {
        Recommendation timeWait = only(PressureRecommendations.recommend(timeWaits(100, 100, TableSummary.Truncation.DEADLINE),
                context(QUIET, 256, null, OptionalLong.empty())), Kind.TIME_WAIT_DOMINATES);
        assertThat(timeWait.message()).contains("(100 of 100 entries listed, the listing stopped at its deadline)");
    }

    @Test
    void aTableAtTheLargestMaxTheKernelTakesGetsNoRaise() {
        PressureRecommendations.Context atTheTop = new PressureRecommendations.Context(OptionalLong.of(Integer.MAX_VALUE),
                OptionalLong.of(Integer.MAX_VALUE), OptionalLong.of(262_144), DROPPING, OptionalInt.of(256), Optional.empty(),
                OptionalLong.empty());
        assertThat(PressureRecommendations.recommend(summary(List.of()), atTheTop)).extracting(Recommendation::kind)
                .doesNotContain(Kind.RAISE_MAX);
    }

    @Test
    void theSpareMemoryBoundIsInclusive() throws IOException {
        // From max 1000 / 256 buckets (260,096 bytes): max 1600 with 400 buckets costs 155,904 bytes more,
        // exactly 10% of 1,559,040 available; 1601 would cost 256 bytes more than that.
        Recommendation raise = only(PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(1_559_040))), Kind.RAISE_MAX);
        assertThat(raise.settings()).containsExactly(new SuggestedSetting("max", "1600"), new SuggestedSetting("buckets", "400"));
    }

    @Test
    void aQuarterMoreIsStillWorthRaisingLessIsNot() throws IOException {
        // Max 1250 (312 buckets) costs 64,896 bytes more: 10% of 648,960. A quarter more than 1000 is the least worth it.
        Recommendation raise = only(PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(648_960))), Kind.RAISE_MAX);
        assertThat(raise.settings()).containsExactly(new SuggestedSetting("max", "1250"), new SuggestedSetting("buckets", "312"));
        assertThat(PressureRecommendations.recommend(fixtureSummary(1_000_000),
                context(DROPPING, 256, Duration.ofSeconds(120), OptionalLong.of(648_950))))
                .extracting(Recommendation::kind).contains(Kind.NO_SPARE_MEMORY).doesNotContain(Kind.RAISE_MAX);
    }

    @Test
    void bytesAreReadable() {
        assertThat(PressureRecommendations.bytes(1023)).isEqualTo("1023 B");
        assertThat(PressureRecommendations.bytes(1024)).isEqualTo("1.0 KiB");
        assertThat(PressureRecommendations.bytes(101_888)).isEqualTo("99.5 KiB");
        assertThat(PressureRecommendations.bytes(102_400)).isEqualTo("100 KiB");
        assertThat(PressureRecommendations.bytes(1L << 20)).isEqualTo("1.0 MiB");
        assertThat(PressureRecommendations.bytes(20L << 30)).isEqualTo("20.0 GiB");
        assertThat(PressureRecommendations.bytes(1L << 50)).as("TiB is the largest unit").isEqualTo("1024 TiB");
    }

    /** ENTRIES TCP entries of which TIME_WAIT are TIME_WAIT, no dominant source. */
    private static TableSummary timeWaits(long entries, long timeWait, TableSummary.Truncation truncation) {
        return new TableSummary(TableSummary.Source.STREAM, entries, 0, Optional.empty(), truncation,
                Duration.ZERO, Map.of("ipv4", entries), Map.of("tcp", entries),
                Map.of("TIME_WAIT", timeWait, "ESTABLISHED", entries - timeWait), entries, 0, List.of(), List.of(), List.of());
    }

    /** 1000 ESTABLISHED entries with the given top sources. */
    private static TableSummary summary(List<HeavyHitters.Top> topSources) {
        return new TableSummary(TableSummary.Source.STREAM, 1000, 0, Optional.empty(), TableSummary.Truncation.NONE,
                Duration.ZERO, Map.of("ipv4", 1000L), Map.of("tcp", 1000L), Map.of("ESTABLISHED", 1000L), 1000, 0,
                topSources, List.of(), List.of());
    }
}
