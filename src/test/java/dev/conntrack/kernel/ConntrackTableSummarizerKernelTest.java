package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.testing.NetnsLab;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Real kernel, as root: a small real table (300 UDP flows on loopback) in a namespace the test
 * creates, summarized through /proc/PID/net/nf_conntrack of a process inside it and through the
 * netlink fallback (conntrack -L -o extended run in the namespace). Changes no global setting:
 * only the lab namespace's own UDP timeout, gone with the namespace.
 */
class ConntrackTableSummarizerKernelTest {
    private static final int FLOWS = 300;
    private static final int FIRST_PORT = 20001;

    @TempDir
    Path emptyRoot;

    @Test
    void summaryTotalsMatchTheKernelsCountInsideTheNamespace() throws Exception {
        assumeTrue(NetnsLab.available(), "needs root, ip and nft");
        try (NetnsLab lab = NetnsLab.create("ct-summary")) {
            lab.trackConnections();
            lab.sysctl("nf_conntrack_udp_timeout", "600"); // the flows outlive the test
            // One datagram per flow to a closed port: one UNREPLIED entry each (the ICMP errors are RELATED).
            lab.exec(60, "bash", "-c", "for p in $(seq " + FIRST_PORT + " " + (FIRST_PORT + FLOWS - 1)
                    + "); do echo x > /dev/udp/127.0.0.$((p % 7 + 1))/$p; done").ok("send UDP flows");
            Process sleeper = lab.start("sleep", "120");
            long pid = lab.awaitInNamespace(sleeper, lab.inode(), 10_000);

            long count = lab.conntrackCount();
            TableSummary summary = new ConntrackTableSummarizer(HostPaths.host(), CommandRunner.processes(),
                    ConntrackTableSummarizer.Limits.DEFAULT).summarize(pid);
            long cliCount = Long.parseLong(lab.exec(30, "conntrack", "-C").ok("conntrack -C").stdout().trim());

            assertThat(count).as("the namespace tracked every flow").isEqualTo(FLOWS);
            assertThat(summary.entries()).isEqualTo(count).isEqualTo(cliCount);
            assertThat(summary.truncation()).isEqualTo(TableSummary.Truncation.NONE);
            assertThat(summary.malformedLines()).isZero();
            assertThat(summary.byL3Protocol()).containsExactly(Map.entry("ipv4", (long) FLOWS));
            assertThat(summary.byL4Protocol()).containsExactly(Map.entry("udp", (long) FLOWS));
            assertThat(summary.unreplied()).isEqualTo(FLOWS);
            assertThat(summary.assured()).isZero();
            assertThat(summary.topSources()).containsExactly(new HeavyHitters.Top("127.0.0.1", FLOWS, 0));
            Map<String, Long> destinations = new HashMap<>();
            for (int p = FIRST_PORT; p < FIRST_PORT + FLOWS; p++) {
                destinations.merge("127.0.0." + (p % 7 + 1), 1L, Long::sum);
            }
            assertThat(summary.topDestinations()).hasSize(7)
                    .allSatisfy(t -> assertThat(t.count()).isEqualTo(destinations.get(t.key())));
            assertThat(summary.topDestinationPorts()).hasSize(10)
                    .allSatisfy(t -> assertThat(t.count()).isEqualTo(1))
                    .allSatisfy(t -> assertThat(t.key()).startsWith("udp/2"));

            // The netlink fallback on the same table: no procfs file under this root, so the
            // summarizer runs conntrack -L -o extended (here inside the lab) and streams its output.
            TableSummary viaNetlink = new ConntrackTableSummarizer(new HostPaths(emptyRoot), insideLab(lab),
                    ConntrackTableSummarizer.Limits.DEFAULT).summarize();
            assertThat(viaNetlink.source()).isEqualTo(TableSummary.Source.CONNTRACK_CLI);
            assertThat(viaNetlink).usingRecursiveComparison().ignoringFields("elapsed", "source").isEqualTo(summary);
        }
    }

    /** The real process runner, with every command run inside LAB. */
    private static CommandRunner insideLab(NetnsLab lab) {
        CommandRunner real = CommandRunner.processes();
        return new CommandRunner() {
            @Override
            public Result run(List<String> command, Duration timeout) throws IOException {
                return real.run(prefixed(command), timeout);
            }

            @Override
            public <T> Streamed<T> stream(List<String> command, Duration timeout, OutputReader<T> reader) throws IOException {
                return real.stream(prefixed(command), timeout, reader);
            }

            private List<String> prefixed(List<String> command) {
                List<String> full = new ArrayList<>(List.of("ip", "netns", "exec", lab.name()));
                full.addAll(command);
                return full;
            }
        };
    }
}
