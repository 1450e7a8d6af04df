package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KmsgWatcherTest {
    private static final Instant NOW = Instant.parse("2025-11-25T10:00:00Z");
    private static final Clock CLOCK = Clock.fixed(NOW, ZoneOffset.UTC);
    /** Boot-time history the watcher must not count, with its own table-full line. */
    private static final List<String> BOOT_HISTORY = List.of(
            "6,1,0,-;Linux version 6.18.0 (builder@host) #1 SMP",
            "4,2,5000000,-;nf_conntrack: nf_conntrack: table full, dropping packet",
            "4,3,5000100,-;net_ratelimit: 999 callbacks suppressed",
            "6,4,6000000,-;e1000e: eth0 NIC Link is Up",
            " SUBSYSTEM=net",
            " DEVICE=n2");

    @TempDir
    Path root;

    private static long usec(String line) {
        return Long.parseLong(line.split("[,;]")[2]);
    }

    private FakeHost hostWithKmsg(List<String> lines, String uptimeSeconds) {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().devKmsg(), String.join("\n", lines) + "\n");
        FakeHost.write(host.paths().uptime(), uptimeSeconds + " 2345.67\n");
        return host;
    }

    @Test
    void countsOnlyRecordsLoggedAfterTheStartAndIgnoresContinuationLines() {
        List<String> fixture = KmsgParserTest.fixtureLines();
        List<String> all = new ArrayList<>(BOOT_HISTORY);
        all.addAll(fixture);
        // Start in the middle of the overload: at the second suppressed line of the fixture.
        String uptime = "1230.397294";
        long startUsec = 1230397294L;
        FakeHost host = hostWithKmsg(all, uptime);
        KmsgParserTest.Expected expected = KmsgParserTest.Expected.of(
                all.stream().filter(l -> !l.startsWith(" ") && usec(l) >= startUsec).collect(Collectors.toList()));

        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK);
        watcher.drainOnce();
        KmsgSnapshot snapshot = watcher.snapshot();

        assertThat(watcher.unavailable()).isEmpty();
        assertThat(snapshot.tableFullLines()).isEqualTo(expected.tableFull()).isEqualTo(90);
        assertThat(snapshot.suppressedTotal()).isEqualTo(expected.suppressedTotal());
        assertThat(snapshot.suppressedAttributed()).isEqualTo(expected.suppressedAfterTableFull());
        assertThat(snapshot.tableFullIncludingSuppressed()).isEqualTo(expected.tableFull() + expected.suppressedAfterTableFull());
        assertThat(snapshot.lostRecords()).isZero();
        // Boot time = now - uptime; the last table-full line is at 1279.707781 s after boot.
        assertThat(snapshot.lastTableFull()).contains(NOW.minusNanos(startUsec * 1000).plusNanos(1279707781L * 1000));
    }

    @Test
    void survivesBrokenPipeAndCountsLostRecords() {
        FakeHost host = hostWithKmsg(List.of(), "100.0");
        // Records as the device hands them out, one per read; EPIPE after the second one, and the
        // kernel overwrote seq 12..14 meanwhile.
        List<Object> reads = List.of(
                "4,10,100000001,-;nf_conntrack: nf_conntrack: table full, dropping packet\n",
                "4,11,100000002,-;nf_conntrack: nf_conntrack: table full, dropping packet\n",
                new IOException("Broken pipe"),
                "4,15,100000100,-;net_ratelimit: 40 callbacks suppressed\n",
                "4,16,100000101,-;nf_conntrack: nf_conntrack: table full, dropping packet\n SUBSYSTEM=net\n");
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK, path -> new ScriptedSource(reads), Duration.ZERO);

        watcher.drainOnce();
        KmsgSnapshot snapshot = watcher.snapshot();

        assertThat(watcher.unavailable()).isEmpty();
        assertThat(snapshot.brokenPipes()).isEqualTo(1);
        assertThat(snapshot.lostRecords()).isEqualTo(3);
        assertThat(snapshot.tableFullLines()).isEqualTo(3);
        assertThat(snapshot.suppressedAttributed()).isEqualTo(40);
    }

    @Test
    void everyNewTableFullLineNotifiesTheListenerOtherLinesDoNot() {
        FakeHost host = hostWithKmsg(List.of(), "0");
        List<Object> reads = List.of(
                "4,1,10,-;nf_conntrack: nf_conntrack: table full, dropping packet\n",
                "4,2,11,-;net_ratelimit: 4 callbacks suppressed\n",
                "6,3,12,-;eth0: link up\n",
                "4,4,13,-;nf_conntrack: nf_conntrack: table full, dropping packet\n");
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK, path -> new ScriptedSource(reads), Duration.ZERO);
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        watcher.onTableFull(calls::incrementAndGet);
        watcher.drainOnce();
        assertThat(calls.get()).isEqualTo(2);
    }

    @Test
    void aRecordSplitAcrossReadsOfARegularFileIsReassembled() {
        FakeHost host = hostWithKmsg(List.of(), "0");
        List<Object> reads = List.of(
                "4,1,10,-;nf_conntrack: nf_conntrack: table ",
                "full, dropping packet\n4,2,11,-;net_ratelimit: 4 callbacks suppressed\n4,3,12,-;nf_conn",
                "track: nf_conntrack: table full, dropping packet\n");
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK, path -> new ScriptedSource(reads), Duration.ZERO);
        watcher.drainOnce();
        assertThat(watcher.snapshot().tableFullLines()).isEqualTo(2);
        assertThat(watcher.snapshot().suppressedAttributed()).isEqualTo(4);
    }

    @Test
    void permissionDeniedMarksTheSignalUnavailable() {
        FakeHost host = hostWithKmsg(List.of(), "100.0");
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK,
                path -> { throw new AccessDeniedException(path.toString()); }, Duration.ZERO);

        follow(watcher);

        assertThat(watcher.isRunning()).isFalse();
        assertThat(watcher.unavailable()).hasValueSatisfying(u ->
                assertThat(u).contains("/dev/kmsg").contains("Permission denied").contains("CAP_SYSLOG"));
        assertThat(watcher.snapshot()).isEqualTo(KmsgSnapshot.EMPTY);
        watcher.close();
    }

    @Test
    void missingDeviceMarksTheSignalUnavailable() {
        FakeHost host = FakeHost.empty(root);
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK);
        follow(watcher);
        assertThat(watcher.isRunning()).isFalse();
        assertThat(watcher.unavailable()).hasValueSatisfying(u -> assertThat(u).contains("No such file"));
    }

    @Test
    void threadFollowsTheFileAndStopsOnClose() {
        FakeHost host = hostWithKmsg(KmsgParserTest.fixtureLines(), "0");
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK, KmsgSource::openChannel, Duration.ofMillis(10));
        try {
            follow(watcher);
            await().atMost(Duration.ofSeconds(30)).until(() -> watcher.snapshot().tableFullLines() == 100);
            assertThat(watcher.isRunning()).isTrue();
        } finally {
            watcher.close();
        }
        assertThat(watcher.isRunning()).isFalse();
        assertThat(watcher.unavailable()).isEmpty();
    }

    @Test
    void closeWakesAReadBlockedOnTheDevice() throws Exception {
        FakeHost host = hostWithKmsg(List.of(), "0");
        BlockingSource blocking = new BlockingSource();
        KmsgWatcher watcher = new KmsgWatcher(host.paths(), CLOCK, path -> blocking, Duration.ZERO);
        follow(watcher);
        blocking.entered.await();

        watcher.close();

        assertThat(watcher.isRunning()).isFalse();
        assertThat(watcher.unavailable()).isEmpty();
    }

    /** What the agent does with the watcher: open it, then follow it on a thread of its own. */
    static void follow(KmsgWatcher watcher) {
        if (watcher.open()) {
            Thread t = new Thread(watcher::follow, "kmsg-watcher");
            t.setDaemon(true);
            t.start();
        }
    }

    /** Hands out one scripted chunk per read (or throws it), then end of file. */
    static final class ScriptedSource implements KmsgSource {
        private final List<Object> reads;
        private int next;

        ScriptedSource(List<Object> reads) {
            this.reads = reads;
        }

        @Override
        public int read(byte[] buf) throws IOException {
            if (next >= reads.size()) {
                return -1;
            }
            Object item = reads.get(next++);
            if (item instanceof IOException) {
                throw (IOException) item;
            }
            byte[] bytes = ((String) item).getBytes(StandardCharsets.UTF_8);
            System.arraycopy(bytes, 0, buf, 0, bytes.length);
            return bytes.length;
        }

        @Override
        public void close() {
        }
    }

    /** Blocks in read like the device with no new records, until closed. */
    static final class BlockingSource implements KmsgSource {
        final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch closed = new CountDownLatch(1);

        @Override
        public int read(byte[] buf) throws IOException {
            entered.countDown();
            try {
                closed.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new ClosedChannelException();
        }

        @Override
        public void close() {
            closed.countDown();
        }
    }
}
