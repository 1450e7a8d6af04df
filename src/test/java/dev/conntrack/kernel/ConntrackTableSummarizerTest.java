package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConntrackTableSummarizerTest {
    private static final String PROCFS_FIXTURE = "proc-net-nf_conntrack.table-full.txt";
    private static final String CLI_FIXTURE = "conntrack-L-extended.table-full.txt";

    @TempDir
    Path root;

    private final List<List<String>> commandsRun = new ArrayList<>();

    /**
     * The breakdown computed the slow, obvious way (split on whitespace), independently of the
     * summarizer's hand-written scanner.
     */
    record Expected(long entries, Map<String, Long> l3, Map<String, Long> l4, Map<String, Long> tcpStates,
                    long assured, long unreplied, Map<String, Long> sources, Map<String, Long> destinations,
                    Map<String, Long> ports) {

        static Expected of(String text) {
            long entries = 0;
            long assured = 0;
            long unreplied = 0;
            Map<String, Long> l3 = new HashMap<>();
            Map<String, Long> l4 = new HashMap<>();
            Map<String, Long> states = new HashMap<>();
            Map<String, Long> sources = new HashMap<>();
            Map<String, Long> destinations = new HashMap<>();
            Map<String, Long> ports = new HashMap<>();
            for (String line : text.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length < 5) {
                    continue;
                }
                int at = f[0].startsWith("ipv") ? 2 : 0;
                String family = at == 2 ? f[0] : (line.contains(":") ? "ipv6" : "ipv4");
                String proto = f[at];
                entries++;
                l3.merge(family, 1L, Long::sum);
                l4.merge(proto, 1L, Long::sum);
                if (proto.equals("tcp")) {
                    states.merge(f[at + 3], 1L, Long::sum);
                }
                List<String> fields = List.of(f);
                int firstSrc = fields.indexOf(fields.stream().filter(s -> s.startsWith("src=")).findFirst().orElseThrow());
                int secondSrc = firstSrc + 1;
                while (secondSrc < f.length && !f[secondSrc].startsWith("src=")) {
                    secondSrc++;
                }
                sources.merge(f[firstSrc].substring(4), 1L, Long::sum);
                for (int i = firstSrc; i < secondSrc; i++) {
                    if (f[i].startsWith("dst=")) {
                        destinations.merge(f[i].substring(4), 1L, Long::sum);
                    }
                    if (f[i].startsWith("dport=")) {
                        ports.merge(proto + "/" + f[i].substring(6), 1L, Long::sum);
                    }
                }
                assured += fields.contains("[ASSURED]") ? 1 : 0;
                unreplied += fields.contains("[UNREPLIED]") ? 1 : 0;
            }
            return new Expected(entries, l3, l4, states, assured, unreplied, sources, destinations, ports);
        }

        void check(TableSummary s) {
            assertThat(s.entries()).isEqualTo(entries);
            assertThat(s.byL3Protocol()).isEqualTo(l3);
            assertThat(s.byL4Protocol()).isEqualTo(l4);
            assertThat(s.byTcpState()).isEqualTo(tcpStates);
            assertThat(s.assured()).isEqualTo(assured);
            assertThat(s.unreplied()).isEqualTo(unreplied);
            checkTop(s.topSources(), sources);
            checkTop(s.topDestinations(), destinations);
            checkTop(s.topDestinationPorts(), ports);
            assertThat(s.topsExact()).isTrue();
        }

        /** The reported list is the K largest with their exact counts (ties may pick any of the tied keys). */
        private static void checkTop(List<HeavyHitters.Top> top, Map<String, Long> all) {
            List<Long> expectedCounts = all.values().stream().sorted((a, b) -> Long.compare(b, a))
                    .limit(top.isEmpty() ? 0 : 10).collect(Collectors.toList());
            assertThat(top).extracting(HeavyHitters.Top::count).containsExactlyElementsOf(expectedCounts);
            for (HeavyHitters.Top t : top) {
                assertThat(all.get(t.key())).as("count of %s", t.key()).isEqualTo(t.count());
                assertThat(t.maxOverestimate()).isZero();
            }
        }
    }

    private ConntrackTableSummarizer summarizer(FakeHost host, CommandRunner commands) {
        return new ConntrackTableSummarizer(host.paths(), commands, ConntrackTableSummarizer.Limits.DEFAULT);
    }

    private CommandRunner printing(String stdout, int exit) {
        return (command, timeout) -> {
            commandsRun.add(command);
            return new CommandRunner.Result(exit, stdout);
        };
    }

    private CommandRunner notInstalled() {
        return (command, timeout) -> {
            commandsRun.add(command);
            throw new IOException("Cannot run program \"conntrack\": error=2, No such file or directory");
        };
    }

    @Test
    void procfsFixtureIsAllTimeWaitAndAssuredFromOneClient() throws IOException {
        FakeHost host = FakeHost.empty(root);
        String table = FakeHost.fixture(PROCFS_FIXTURE);
        FakeHost.write(host.paths().conntrackTable(), table);

        TableSummary summary = summarizer(host, notInstalled()).summarize();

        Expected.of(table).check(summary);
        assertThat(summary.source()).isEqualTo(TableSummary.Source.PROCFS);
        assertThat(summary.truncation()).isEqualTo(TableSummary.Truncation.NONE);
        assertThat(summary.malformedLines()).isZero();
        // What the capture is known to hold (fixtures README), as a sanity check of Expected itself.
        assertThat(summary.entries()).isEqualTo(1000);
        assertThat(summary.tcpState("TIME_WAIT")).isEqualTo(1000);
        assertThat(summary.assuredShare()).isEqualTo(1.0);
        assertThat(summary.topSources().get(0)).isEqualTo(new HeavyHitters.Top("10.200.1.2", 1000, 0));
        assertThat(summary.topDestinationPorts().get(0)).isEqualTo(new HeavyHitters.Top("tcp/8080", 1000, 0));
        assertThat(commandsRun).isEmpty();
    }

    @Test
    void missingProcfsFileFallsBackToConntrackListExtended() throws IOException {
        FakeHost host = FakeHost.empty(root);
        String table = FakeHost.fixture(CLI_FIXTURE);

        TableSummary summary = summarizer(host, printing(table, 0)).summarize();

        Expected.of(table).check(summary);
        assertThat(summary.source()).isEqualTo(TableSummary.Source.CONNTRACK_CLI);
        assertThat(commandsRun).containsExactly(List.of("conntrack", "-L", "-o", "extended"));
    }

    @Test
    void bothFormatsOfTheSameMomentGiveTheSameSummary() throws IOException {
        ConntrackTableSummarizer s = summarizer(FakeHost.empty(root), notInstalled());
        TableSummary procfs = s.summarize(stream(FakeHost.fixture(PROCFS_FIXTURE)), TableSummary.Source.STREAM);
        TableSummary cli = s.summarize(stream(FakeHost.fixture(CLI_FIXTURE)), TableSummary.Source.STREAM);

        assertThat(cli).usingRecursiveComparison().ignoringFields("elapsed").isEqualTo(procfs);
    }

    @Test
    void mixedTableOfEveryLineFormCountsAsTheSlowWayDoes() throws IOException {
        String table = String.join("\n",
                // procfs: tcp with state, udp unreplied, icmp (no ports), ipv6 (full form), gre (no ports).
                "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.1 dst=10.0.0.9 sport=40000 dport=443 src=10.0.0.9 dst=10.0.0.1 sport=443 dport=40000 [ASSURED] mark=0 zone=0 use=2",
                "ipv4     2 tcp      6 431999 ESTABLISHED src=10.0.0.2 dst=10.0.0.9 sport=40001 dport=443 src=10.0.0.9 dst=10.0.0.2 sport=443 dport=40001 [ASSURED] mark=0 zone=0 use=2",
                "ipv4     2 tcp      6 118 SYN_SENT src=10.0.0.1 dst=10.0.0.8 sport=40002 dport=80 [UNREPLIED] src=10.0.0.8 dst=10.0.0.1 sport=80 dport=40002 mark=0 zone=0 use=2",
                "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.96.0.10 sport=5353 dport=53 [UNREPLIED] src=10.96.0.10 dst=10.0.0.1 sport=53 dport=5353 mark=0 zone=0 use=2",
                "ipv4     2 udp      17 175 src=10.0.0.3 dst=10.96.0.10 sport=5354 dport=53 src=10.244.1.5 dst=10.0.0.3 sport=53 dport=5354 [ASSURED] mark=0 zone=0 use=2",
                "ipv4     2 icmp     1 29 src=10.0.0.1 dst=10.0.0.9 type=8 code=0 id=7 src=10.0.0.9 dst=10.0.0.1 type=0 code=0 id=7 mark=0 zone=0 use=2",
                "ipv6     10 tcp      6 60 CLOSE_WAIT src=fd00:0000:0000:0000:0000:0000:0000:0001 dst=fd00:0000:0000:0000:0000:0000:0000:0002 sport=1 dport=8443 src=fd00:0000:0000:0000:0000:0000:0000:0002 dst=fd00:0000:0000:0000:0000:0000:0000:0001 sport=8443 dport=1 [ASSURED] mark=0 zone=0 use=2",
                "ipv4     2 gre      47 179 timeout=180, stream_timeout=180 src=10.0.0.4 dst=10.0.0.9 srckey=0x0 dstkey=0x0 src=10.0.0.9 dst=10.0.0.4 srckey=0x0 dstkey=0x0 mark=0 zone=0 use=2",
                // conntrack -L without -o extended: no family column; ipv6 compressed.
                "tcp      6 117 TIME_WAIT src=10.0.0.1 dst=10.0.0.9 sport=40003 dport=443 src=10.0.0.9 dst=10.0.0.1 sport=443 dport=40003 [ASSURED] mark=0 use=1",
                "udp      17 20 src=fd00::1 dst=fd00::53 sport=1000 dport=53 [UNREPLIED] src=fd00::53 dst=fd00::1 sport=53 dport=1000 mark=0 use=1",
                "");
        ConntrackTableSummarizer s = summarizer(FakeHost.empty(root), notInstalled());

        TableSummary summary = s.summarize(stream(table), TableSummary.Source.STREAM);

        Expected.of(table).check(summary);
        assertThat(summary.byL3Protocol()).containsExactly(Map.entry("ipv4", 8L), Map.entry("ipv6", 2L));
        assertThat(summary.byL4Protocol()).containsEntry("tcp", 5L).containsEntry("udp", 3L)
                .containsEntry("icmp", 1L).containsEntry("gre", 1L);
        assertThat(summary.byTcpState()).containsExactly(Map.entry("ESTABLISHED", 2L), Map.entry("CLOSE_WAIT", 1L),
                Map.entry("SYN_SENT", 1L), Map.entry("TIME_WAIT", 1L));
        assertThat(summary.unreplied()).isEqualTo(3);
        assertThat(summary.assured()).isEqualTo(5);
        // The reply tuple's dport (40000, 5353...) never counts: only the original direction.
        assertThat(summary.topDestinationPorts()).extracting(HeavyHitters.Top::key)
                .containsExactly("tcp/443", "udp/53", "tcp/80", "tcp/8443");
        assertThat(summary.topDestinationPorts().get(0).count()).isEqualTo(3);
        assertThat(summary.topSources().get(0)).isEqualTo(new HeavyHitters.Top("10.0.0.1", 5, 0));
    }

    @Test
    void malformedLinesAreSkippedCountedAndOneIsQuoted() throws IOException {
        String table = "ipv4     2 tcp      6 114 TIME_WAIT src=10.0.0.1 dst=10.0.0.2 sport=1 dport=80 src=10.0.0.2 dst=10.0.0.1 sport=80 dport=1 [ASSURED] mark=0 zone=0 use=2\n"
                + "conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\n"
                + "\n"
                + "ipv4     2 tcp      6 notanumber TIME_WAIT src=10.0.0.1\n"
                + "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.3 sport=1 dport=53 src=10.0.0.3 dst=10.0.0.1 sport=53 dport=1 mark=0 zone=0 use=2";
        ConntrackTableSummarizer s = summarizer(FakeHost.empty(root), notInstalled());

        TableSummary summary = s.summarize(stream(table), TableSummary.Source.STREAM);

        assertThat(summary.entries()).isEqualTo(2); // the last line has no newline and still counts
        assertThat(summary.malformedLines()).isEqualTo(2);
        assertThat(summary.malformedExample()).hasValue("no protocol number: \"conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.\"");
    }

    @Test
    void aLineLongerThanTheBufferIsSkippedAndTheNextOneCounts() throws IOException {
        String table = "ipv4 2 tcp 6 1 TIME_WAIT src=" + "x".repeat(200_000) + "\n"
                + "ipv4     2 udp      17 29 src=10.0.0.1 dst=10.0.0.3 sport=1 dport=53 src=10.0.0.3 dst=10.0.0.1 sport=53 dport=1 mark=0 zone=0 use=2\n";
        ConntrackTableSummarizer s = summarizer(FakeHost.empty(root), notInstalled());

        TableSummary summary = s.summarize(stream(table), TableSummary.Source.STREAM);

        assertThat(summary.entries()).isEqualTo(1);
        assertThat(summary.malformedLines()).isEqualTo(1);
        assertThat(summary.malformedExample()).get().asString().startsWith("line longer than");
    }

    @Test
    void entryCapStopsTheListingAndSaysSo() throws IOException {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackTable(), FakeHost.fixture(PROCFS_FIXTURE));
        var limits = new ConntrackTableSummarizer.Limits(100, Duration.ofSeconds(30), 10, 64);

        TableSummary summary = new ConntrackTableSummarizer(host.paths(), notInstalled(), limits).summarize();

        assertThat(summary.entries()).isEqualTo(100);
        assertThat(summary.truncation()).isEqualTo(TableSummary.Truncation.ENTRY_CAP);
        assertThat(summary.truncated()).isTrue();
        assertThat(summary.tcpState("TIME_WAIT")).isEqualTo(100);
    }

    @Test
    void aCapEqualToTheTableSizeIsNotATruncation() throws IOException {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().conntrackTable(), FakeHost.fixture(PROCFS_FIXTURE));
        var limits = new ConntrackTableSummarizer.Limits(1000, Duration.ofSeconds(30), 10, 64);

        TableSummary summary = new ConntrackTableSummarizer(host.paths(), notInstalled(), limits).summarize();

        assertThat(summary.entries()).isEqualTo(1000);
        assertThat(summary.truncation()).isEqualTo(TableSummary.Truncation.NONE);
    }

    @Test
    void deadlineStopsTheListingAndSaysSo() throws IOException {
        // A clock that moves 1 ms each time it is read: the 10 ms deadline passes after a few reads.
        AtomicLong now = new AtomicLong();
        var limits = new ConntrackTableSummarizer.Limits(1_000_000, Duration.ofMillis(10), 10, 64);
        var s = new ConntrackTableSummarizer(FakeHost.empty(root).paths(), notInstalled(), limits,
                () -> now.addAndGet(1_000_000));
        String table = FakeHost.fixture(PROCFS_FIXTURE);
        // The kernel hands out about a page per read: so does this stream.
        InputStream pageAtATime = new ByteArrayInputStream(table.getBytes(StandardCharsets.US_ASCII)) {
            @Override
            public synchronized int read(byte[] b, int off, int len) {
                return super.read(b, off, Math.min(len, 4096));
            }
        };

        TableSummary summary = s.summarize(pageAtATime, TableSummary.Source.STREAM);

        assertThat(summary.truncation()).isEqualTo(TableSummary.Truncation.DEADLINE);
        assertThat(summary.entries()).isPositive().isLessThan(1000);
        assertThat(summary.elapsed()).isGreaterThanOrEqualTo(Duration.ofMillis(10));
    }

    @Test
    void theTableOfAnotherNamespaceIsReadThroughItsPid() throws IOException {
        FakeHost host = FakeHost.empty(root);
        String table = FakeHost.fixture(PROCFS_FIXTURE);
        FakeHost.write(host.paths().conntrackTable(4242), table);

        TableSummary summary = summarizer(host, notInstalled()).summarize(4242);

        Expected.of(table).check(summary);
        assertThatThrownBy(() -> summarizer(host, notInstalled()).summarize(4243))
                .isInstanceOf(IOException.class)
                .hasMessage("table of pid 4243: /proc/4243/net/nf_conntrack unreadable: No such file or directory");
    }

    @Test
    void noProcfsFileAndNoConntrackCommandIsAClearError() {
        FakeHost host = FakeHost.empty(root);

        assertThatThrownBy(() -> summarizer(host, notInstalled()).summarize())
                .isInstanceOf(IOException.class)
                .hasMessage("/proc/net/nf_conntrack missing and conntrack -L -o extended unavailable: "
                        + "Cannot run program \"conntrack\": error=2, No such file or directory");
    }

    @Test
    void aFailingConntrackCommandIsAClearError() {
        FakeHost host = FakeHost.empty(root);

        assertThatThrownBy(() -> summarizer(host, printing("", 1)).summarize())
                .isInstanceOf(IOException.class)
                .hasMessage("/proc/net/nf_conntrack missing and conntrack -L -o extended failed (exit 1)");
    }

    @Test
    void limitsRejectNonsense() {
        assertThatThrownBy(() -> new ConntrackTableSummarizer.Limits(0, Duration.ofSeconds(1), 10, 64))
                .hasMessageContaining("maxEntries");
        assertThatThrownBy(() -> new ConntrackTableSummarizer.Limits(10, Duration.ZERO, 10, 64))
                .hasMessageContaining("deadline");
        assertThatThrownBy(() -> new ConntrackTableSummarizer.Limits(10, Duration.ofSeconds(1), 10, 5))
                .hasMessageContaining("heavyHitterCounters");
    }

    private static InputStream stream(String text) {
        return new ByteArrayInputStream(text.getBytes(StandardCharsets.US_ASCII));
    }
}
