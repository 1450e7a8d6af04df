package dev.conntrack.agent;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The list+watch loop against a scripted API server: resume, bookmarks, 410, outages. */
class NodeSpecWatchTest {
    /** Answers lists from a fixed body and each watch with the next scripted response. */
    static final class ScriptedServer extends KubeClient {
        final List<String> requests = new CopyOnWriteArrayList<>();
        final BlockingQueue<Object> watches = new LinkedBlockingQueue<>();
        volatile String listBody;

        @Override
        public String get(String path) {
            requests.add("GET " + path);
            return listBody;
        }

        @Override
        public InputStream stream(String path, Duration timeout, Duration silence) throws KubeApiException {
            requests.add("WATCH " + path);
            Object next;
            try {
                next = watches.poll(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                throw new KubeApiException(0, "interrupted");
            }
            if (next instanceof KubeApiException e) {
                throw e;
            }
            String body = next == null ? "" : (String) next;
            return new ByteArrayInputStream(body.getBytes(StandardCharsets.UTF_8));
        }
    }

    static String state(String name, long generation, String rv, int max) {
        return "{\"apiVersion\":\"conntrack.dev/v1alpha1\",\"kind\":\"ConntrackNodeState\",\"metadata\":{\"name\":\"" + name
                + "\",\"generation\":" + generation + ",\"resourceVersion\":\"" + rv + "\"},\"spec\":{\"conntrack\":{\"max\":" + max
                + "}},\"status\":{\"conditions\":[]}}";
    }

    @Test
    void listsThenWatchesFromTheListVersionAndFollowsEventsAndBookmarks() throws Exception {
        ScriptedServer server = new ScriptedServer();
        server.listBody = "{\"kind\":\"ConntrackNodeStateList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":["
                + state("node-a", 1, "9", 1000) + "]}";
        // One watch that delivers a change, a bookmark and a status-only change, then ends (server timeout).
        server.watches.add("{\"type\":\"MODIFIED\",\"object\":" + state("node-a", 2, "11", 2000) + "}\n"
                + "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"ConntrackNodeState\",\"metadata\":{\"resourceVersion\":\"15\"}}}\n"
                + "{\"type\":\"MODIFIED\",\"object\":" + state("node-a", 2, "16", 2000) + "}\n");
        AtomicInteger changes = new AtomicInteger();
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a", changes::incrementAndGet);
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(10)).until(() -> server.requests.size() >= 3);
            assertThat(server.requests.get(0)).startsWith("GET /apis/conntrack.dev/v1alpha1/conntracknodestates?fieldSelector=metadata.name%3Dnode-a")
                    .as("listed from the watch cache, not a consistent read from etcd").contains("&resourceVersion=0");
            assertThat(server.requests.get(1)).contains("watch=true").contains("allowWatchBookmarks=true").endsWith("&resourceVersion=10");
            // The second watch resumes from the newest version seen, not from the list's.
            assertThat(server.requests.get(2)).startsWith("WATCH").endsWith("&resourceVersion=16");
            assertThat(watch.current()).isPresent();
            assertThat(watch.current().get().getSpec().getConntrack().getMax()).isEqualTo(2000);
            // Once for the list's generation 1, once for generation 2; a status-only change wakes nobody.
            assertThat(changes.get()).isEqualTo(2);
        } finally {
            watch.close();
        }
    }

    @Test
    void goneVersionMeansANewListAndAnOutageKeepsTheLastSpec() throws Exception {
        ScriptedServer server = new ScriptedServer();
        server.listBody = "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" + state("node-a", 3, "10", 500) + "]}";
        server.watches.add("{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old resource version\"}}\n");
        server.watches.add(new KubeApiException(0, "API server unreachable: Connection refused"));
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a", () -> { });
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(15)).until(() -> server.requests.stream().filter(r -> r.startsWith("GET")).count() >= 2
                    && server.requests.stream().filter(r -> r.startsWith("WATCH")).count() >= 3);
            List<String> kinds = server.requests.stream().map(r -> r.substring(0, r.indexOf(' '))).toList();
            assertThat(kinds.subList(0, 4)).containsExactly("GET", "WATCH", "GET", "WATCH");
            assertThat(watch.current().get().getSpec().getConntrack().getMax()).isEqualTo(500);
        } finally {
            watch.close();
        }
    }

    @Test
    void aSpecThatSlippedPastTheSchemaIsRefusedAndTheLastGoodOneStays() throws Exception {
        ScriptedServer server = new ScriptedServer();
        server.listBody = "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" + state("node-a", 1, "10", 500) + "]}";
        // Written under an older CRD: a string where max belongs, a poll interval of 0 (a core burnt),
        // a notrack rule without a port. Then a good one.
        String bad = "{\"metadata\":{\"name\":\"node-a\",\"generation\":2,\"resourceVersion\":\"11\"},\"spec\":{"
                + "\"conntrack\":{\"max\":\"lots\",\"notrack\":[{\"protocol\":\"udp\"}]},\"monitoring\":{\"pollInterval\":\"0s\"}}}";
        server.watches.add("{\"type\":\"MODIFIED\",\"object\":" + bad + "}\n");
        server.watches.add("{\"type\":\"MODIFIED\",\"object\":" + state("node-a", 3, "12", 700) + "}\n");
        AtomicInteger changes = new AtomicInteger();
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a", changes::incrementAndGet);
        List<String> refusals = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(15)).until(() -> {
                watch.refused().ifPresent(refusals::add);
                return watch.current().isPresent() && watch.current().get().getMetadata().getGeneration() == 3;
            });
            assertThat(refusals).isNotEmpty();
            assertThat(refusals.get(0)).startsWith("spec of generation 2 refused, generation 1 still enforced: ")
                    .contains("/spec/conntrack/max: expected a whole number, found \"lots\"")
                    .contains("monitoring.pollInterval: \"0s\" is outside 100ms..1m")
                    .contains("conntrack.notrack[0]: needs a protocol (udp, tcp) and a port");
            assertThat(watch.refused()).as("the good spec clears it").isEmpty();
            assertThat(watch.current().get().getSpec().getConntrack().getMax()).isEqualTo(700);
        } finally {
            watch.close();
        }
    }

    @Test
    void eachWatchAsksTheServerForADifferentTimeoutBetween5And10Minutes() throws Exception {
        // Each watch lasts a little over the quick-retry bound (the server ending it, as at its timeout), then the next one starts.
        List<String> watches = new CopyOnWriteArrayList<>();
        KubeClient server = new KubeClient() {
            @Override
            public String get(String path) {
                return "{\"kind\":\"ConntrackNodeStateList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[]}";
            }

            @Override
            public InputStream stream(String path, Duration timeout, Duration silence) {
                watches.add(path);
                return new InputStream() {
                    private boolean ended;

                    @Override
                    public int read() {
                        if (!ended) {
                            ended = true;
                            try {
                                Thread.sleep(NodeSpecWatch.MIN_BACKOFF.toMillis() + 50);
                            } catch (InterruptedException e) {
                                Thread.currentThread().interrupt();
                            }
                        }
                        return -1;
                    }
                };
            }
        };
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a", () -> { });
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(20)).until(() -> watches.size() >= 6);
        } finally {
            watch.close();
        }
        List<Integer> timeouts = watches.stream()
                .map(p -> Integer.parseInt(p.replaceFirst(".*[?&]timeoutSeconds=([0-9]+).*", "$1"))).toList();
        assertThat(timeouts).allSatisfy(t -> assertThat(t).isBetween(300, 600));
        // A fleet whose watches restarted together (an API server restart) drifts apart instead of coming back in step.
        assertThat(java.util.Set.copyOf(timeouts)).as("timeouts of successive watches: %s", timeouts).hasSizeGreaterThan(1);
    }

    @Test
    void afterAFailureOneWatchFromAnyVersionIsBackAndAnOlderStateFromItIsNotTaken() throws Exception {
        ScriptedServer server = new ScriptedServer();
        server.listBody = "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" + state("node-a", 3, "10", 500) + "]}";
        server.watches.add(new KubeApiException(0, "API server unreachable: Connection refused"));
        // A cache behind what the agent saw (another API server's) starts from generation 2.
        server.watches.add("{\"type\":\"ADDED\",\"object\":" + state("node-a", 2, "8", 100) + "}\n");
        server.watches.add("{\"type\":\"MODIFIED\",\"object\":" + state("node-a", 4, "12", 900) + "}\n");
        List<Integer> taken = new CopyOnWriteArrayList<>();
        NodeSpecWatch[] self = new NodeSpecWatch[1];
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a",
                () -> taken.add(self[0].current().get().getSpec().getConntrack().getMax()));
        self[0] = watch;
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(15)).until(() -> server.requests.size() >= 4 && taken.size() >= 2);
            assertThat(server.requests.get(1)).startsWith("WATCH").endsWith("&resourceVersion=10");
            assertThat(server.requests.get(2)).as("no list: a watch from any version sends the state first")
                    .startsWith("WATCH").endsWith("&resourceVersion=0");
            assertThat(server.requests.get(3)).as("then on from what it sent").startsWith("WATCH").endsWith("&resourceVersion=8");
            assertThat(taken).as("generation 3, never the older 2, then 4").containsExactly(500, 900);
        } finally {
            watch.close();
        }
    }

    @Test
    void retryNowEndsABackoffAtOnce() throws Exception {
        // The API server asked for a minute's pause (Retry-After); then the agent learns that the
        // cause is gone (its conntrack table has room again) and tries at once.
        ScriptedServer server = new ScriptedServer();
        server.listBody = "{\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[" + state("node-a", 1, "10", 500) + "]}";
        server.watches.add(new KubeApiException(503, "HTTP 503", null, 60));
        server.watches.add("{\"type\":\"MODIFIED\",\"object\":" + state("node-a", 2, "11", 900) + "}\n");
        NodeSpecWatch watch = new NodeSpecWatch(server, "node-a", () -> { });
        try {
            runOnAThread(watch);
            await().atMost(Duration.ofSeconds(10)).until(() -> server.requests.size() >= 2);
            watch.retryNow();
            // Well before the minute the server asked for.
            await().atMost(Duration.ofSeconds(5)).until(() -> watch.current().get().getSpec().getConntrack().getMax() == 900);
        } finally {
            watch.close();
        }
    }

    /** What the agent does with the watch: run it on a thread of its own. */
    private static void runOnAThread(NodeSpecWatch watch) {
        Thread t = new Thread(watch::run, "conntrack-spec-watch");
        t.setDaemon(true);
        t.start();
    }
}
