package dev.conntrack.fleet;

import dev.conntrack.agent.kube.ApiServerConfig;
import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import java.io.InputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The simulated agents' own API client, counting every request they start, per second and by kind,
 * whether or not the API server answers it (the server's apiserver_request_total counts a watch only
 * when it ends and loses its counts when it restarts, so it cannot show a fleet coming back from an
 * outage), and when each node first wrote its status and first opened its spec watch since {@link #forgetFirsts()}.
 */
final class CountingAgentClient extends KubeClient {
    /** What an agent request is for. */
    enum Kind {
        STATUS, EVENT, LIST, WATCH, OTHER
    }

    private static final int SECONDS = 4 * 3600;
    private final long startNanos = System.nanoTime();
    private final AtomicLongArray started = new AtomicLongArray(SECONDS * Kind.values().length);
    private final AtomicLongArray failed = new AtomicLongArray(SECONDS * Kind.values().length);
    private final Map<String, Long> firstStatusWrite = new ConcurrentHashMap<>();
    private final Map<String, Long> firstWatchOpened = new ConcurrentHashMap<>();

    CountingAgentClient(ApiServerConfig config, Duration connectTimeout, Duration requestTimeout) {
        super(config, connectTimeout, requestTimeout);
    }

    @Override
    public String get(String path) throws KubeApiException {
        return counted(path.contains("watch=true") ? Kind.WATCH : path.contains("fieldSelector=") ? Kind.LIST : Kind.OTHER, path,
                () -> super.get(path));
    }

    @Override
    public String post(String path, String json) throws KubeApiException {
        return counted(path.contains("/events") ? Kind.EVENT : Kind.OTHER, path, () -> super.post(path, json));
    }

    @Override
    public String patch(String path, String contentType, String body) throws KubeApiException {
        Kind kind = path.endsWith("/status") ? Kind.STATUS : path.contains("/events") ? Kind.EVENT : Kind.OTHER;
        String answer = counted(kind, path, () -> super.patch(path, contentType, body));
        if (kind == Kind.STATUS) {
            String[] parts = path.split("/");
            firstStatusWrite.putIfAbsent(parts[parts.length - 2], System.nanoTime());
        }
        return answer;
    }

    @Override
    public InputStream stream(String path, Duration timeout, Duration silence) throws KubeApiException {
        InputStream in = counted(Kind.WATCH, path, () -> super.stream(path, timeout, silence));
        firstWatchOpened.putIfAbsent(watchedNode(path), System.nanoTime());
        return in;
    }

    private interface Call<T> {
        T run() throws KubeApiException;
    }

    private <T> T counted(Kind kind, String path, Call<T> call) throws KubeApiException {
        int slot = slot(kind, System.nanoTime());
        if (slot >= 0) {
            started.incrementAndGet(slot);
        }
        try {
            return call.run();
        } catch (KubeApiException | RuntimeException e) {
            if (slot >= 0) {
                failed.incrementAndGet(slot);
            }
            throw e;
        }
    }

    private int slot(Kind kind, long nanos) {
        long second = (nanos - startNanos) / 1_000_000_000L;
        return second < 0 || second >= SECONDS ? -1 : (int) second * Kind.values().length + kind.ordinal();
    }

    /** The second (since this client was made) that {@code nanos} (System.nanoTime) falls in. */
    long second(long nanos) {
        return (nanos - startNanos) / 1_000_000_000L;
    }

    /** Requests of these kinds started in [fromSecond, toSecond). */
    long started(long fromSecond, long toSecond, Kind... kinds) {
        return sum(started, fromSecond, toSecond, kinds);
    }

    /** Requests of these kinds started in [fromSecond, toSecond) that failed (no answer, or an error answer). */
    long failed(long fromSecond, long toSecond, Kind... kinds) {
        return sum(failed, fromSecond, toSecond, kinds);
    }

    private static long sum(AtomicLongArray counts, long fromSecond, long toSecond, Kind... kinds) {
        long n = 0;
        for (long s = Math.max(0, fromSecond); s < Math.min(SECONDS, toSecond); s++) {
            for (Kind k : kinds.length == 0 ? Kind.values() : kinds) {
                n += counts.get((int) s * Kind.values().length + k.ordinal());
            }
        }
        return n;
    }

    /** Starts over recording each node's first status write and first watch. */
    void forgetFirsts() {
        firstStatusWrite.clear();
        firstWatchOpened.clear();
    }

    /** System.nanoTime of this node's first status write the server accepted since {@link #forgetFirsts()}, or null. */
    Long firstStatusWrite(String node) {
        return firstStatusWrite.get(node);
    }

    /** System.nanoTime of the first time since {@link #forgetFirsts()} this node's spec watch was opened (the server answered it), or null. */
    Long firstWatchOpened(String node) {
        return firstWatchOpened.get(node);
    }

    private static String watchedNode(String path) {
        String query = URLDecoder.decode(path.substring(path.indexOf('?') + 1), StandardCharsets.UTF_8);
        for (String part : query.split("&")) {
            if (part.startsWith("fieldSelector=metadata.name=")) {
                return part.substring("fieldSelector=metadata.name=".length());
            }
        }
        return "";
    }
}
