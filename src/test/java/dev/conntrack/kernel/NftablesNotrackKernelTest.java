package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.conntrack.testing.NetnsLab;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Real kernel, as root, inside a network namespace the test creates (nft runs through `ip netns
 * exec`, so the host's ruleset is never read or written). A UDP echo server on loopback answers
 * on port 53 and on port 5353; after the notrack rules for udp 53 are installed, a bounded number
 * of queries to each must leave no conntrack entry for port 53 (neither the queries nor the
 * replies), while every query to 5353 is tracked as before. Removing the rules deletes the table.
 */
class NftablesNotrackKernelTest {
    private static final int QUERIES = 20;
    /** Answers every datagram on 127.0.0.1:53 and :5353 with its payload; ends after 60 s at most. */
    private static final String SERVER = """
            import select, socket, time
            socks = []
            for port in (53, 5353):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.bind(("127.0.0.1", port))
                socks.append(s)
            end = time.time() + 60
            while time.time() < end:
                ready, _, _ = select.select(socks, [], [], 1)
                for s in ready:
                    data, peer = s.recvfrom(512)
                    s.sendto(data, peer)
            """;
    /** N queries to PORT, each from a new socket (so a new flow), and prints how many were answered. */
    private static final String CLIENT = """
            import socket, sys
            port, n, answered = int(sys.argv[1]), int(sys.argv[2]), 0
            for i in range(n):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                s.settimeout(1)
                s.sendto(b"q%d" % i, ("127.0.0.1", port))
                try:
                    s.recvfrom(512)
                    answered += 1
                except socket.timeout:
                    pass
                s.close()
            print(answered)
            """;

    @Test
    void notrackedQueriesAndRepliesLeaveNoEntriesWhileOtherTrafficIsTracked() throws Exception {
        assumeTrue(NetnsLab.available(), "needs root, ip and nft");
        assumeTrue(NetnsLab.onPath("conntrack") && NetnsLab.onPath("python3"), "needs conntrack and python3");
        try (NetnsLab.GlobalKernelLock lock = new NetnsLab.GlobalKernelLock(); NetnsLab lab = NetnsLab.create("ct-notrack")) {
            lab.trackConnections();
            lab.start("python3", "-c", SERVER);
            awaitServer(lab);
            lab.exec(30, "conntrack", "-F").ok("flush the lab's table");

            NftablesNotrack nft = new NftablesNotrack(CommandRunner.processes(), List.of("ip", "netns", "exec", lab.name(), "nft"));
            List<NotrackMatch> rules = List.of(NotrackMatch.of("udp", 53, null, "127.0.0.0/8"));
            assertThat(nft.read()).isEqualTo(NftablesNotrack.Live.ABSENT);
            nft.install(rules);
            assertThat(nft.read()).isEqualTo(NftablesNotrack.expected(rules));
            assertThat(nft.read().ruleCount()).isEqualTo(4);

            long before = lab.conntrackCount();
            assertThat(query(lab, 53)).as("answers from port 53").isEqualTo(QUERIES);
            assertThat(entries(lab, 53)).as("entries for udp 53 with notrack").isZero();
            assertThat(lab.conntrackCount()).as("table size after the notracked queries").isEqualTo(before);

            assertThat(query(lab, 5353)).as("answers from port 5353").isEqualTo(QUERIES);
            assertThat(entries(lab, 5353)).as("entries for udp 5353, still tracked").isEqualTo(QUERIES);
            assertThat(lab.conntrackCount()).isEqualTo(before + QUERIES);

            // Installing the same rules again replaces the table in one transaction: still 4 rules.
            nft.install(rules);
            assertThat(nft.read().ruleCount()).isEqualTo(4);

            nft.remove();
            assertThat(nft.read()).isEqualTo(NftablesNotrack.Live.ABSENT);
            String tables = lab.exec(30, "nft", "list", "tables").ok("nft list tables").stdout();
            assertThat(tables).doesNotContain("conntrack_operator").contains("ctlab"); // the lab's own table untouched
            assertThat(query(lab, 53)).isEqualTo(QUERIES);
            assertThat(entries(lab, 53)).as("udp 53 tracked again once the rules are gone").isEqualTo(QUERIES);
        }
    }

    private static int query(NetnsLab lab, int port) throws Exception {
        return Integer.parseInt(lab.exec(60, "python3", "-c", CLIENT, Integer.toString(port), Integer.toString(QUERIES))
                .ok("queries to " + port).stdout().trim());
    }

    /** Entries of the lab's table whose original direction goes to udp PORT. */
    private static long entries(NetnsLab lab, int port) throws Exception {
        NetnsLab.Run run = lab.exec(30, "conntrack", "-L", "-p", "udp", "--dport", Integer.toString(port));
        // conntrack exits 0 and prints "... 0 flow entries have been shown." on stderr when none match.
        run.ok("conntrack -L");
        return run.stdout().lines().filter(l -> l.contains("dport=" + port)).count();
    }

    /** Bounded: the server is up once one query is answered. */
    private static void awaitServer(NetnsLab lab) throws Exception {
        for (int i = 0; i < 50; i++) {
            NetnsLab.Run probe = lab.exec(10, "python3", "-c", CLIENT, "5353", "1");
            if (probe.exit() == 0 && probe.stdout().trim().equals("1")) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("echo server in " + lab.name() + " did not answer");
    }
}
