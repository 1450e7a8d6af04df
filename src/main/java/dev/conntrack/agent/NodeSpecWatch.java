package dev.conntrack.agent;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.conntrack.agent.core.SpecValidator;
import dev.conntrack.agent.kube.Backoff;
import dev.conntrack.agent.kube.KubeApiException;
import dev.conntrack.agent.kube.KubeClient;
import dev.conntrack.api.ConntrackNodeState;
import dev.conntrack.api.ConntrackPolicy;
import java.io.IOException;
import java.io.InputStream;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Watches this node's ConntrackNodeState, and only it (a field selector on its name): a list, then a
 * watch from its resourceVersion, resumed from the newest version seen (bookmarks included) when the
 * server ends it, a new list on 410. When the API server is unreachable or overloaded it retries for
 * ever with a backoff (jitter, Retry-After, then its own time in a period) and then watches from any
 * version; enforcement goes on with the last spec seen. Until the state is seen, the agent only monitors.
 *
 * <p>Two things end a wait early. A watch that hears nothing, not even the API server's bookmark
 * of about once a minute, for {@link #SILENCE} is taken for dead and started again (its connection
 * can die without a word: a NAT mapping gone, replies lost). And {@link #retryNow()} cuts a backoff
 * short: the agent calls it when its own conntrack table, full until then, has room again, since a
 * full table is what kept its new connections to the API server (through the kubernetes Service's
 * DNAT, tracked like any other) from being made.
 */
public final class NodeSpecWatch implements NodeSpecSource, AutoCloseable {
    private static final Logger LOG = Logger.getLogger(NodeSpecWatch.class.getName());
    static final String PATH = "/apis/" + ConntrackPolicy.GROUP + "/" + ConntrackPolicy.VERSION + "/conntracknodestates";
    /**
     * The server ends each watch after a random 5-10 minutes (as client-go's reflector asks), and the
     * agent resumes it: a fixed time would keep a fleet's watches in step once something (an API
     * server restart) brought them together.
     */
    static final int WATCH_SECONDS = 300;
    static final Duration MIN_BACKOFF = Duration.ofSeconds(1);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** From the fourth failure in a row each retry waits for this watch's own time in every period ({@link Backoff#spreadOver}). */
    static final Duration RETRY_PERIOD = Duration.ofSeconds(90);
    /** Two of the API server's bookmark periods (about a minute each) and a margin. */
    static final Duration SILENCE = Duration.ofSeconds(130);

    private final AtomicReference<ConntrackNodeState> latest = new AtomicReference<>();
    private final KubeClient client;
    private final String nodeName;
    private final Runnable onChange;
    private final Duration silence;
    /** A token here ends the current backoff wait (see {@link #retryNow()}). */
    private final java.util.concurrent.BlockingQueue<Boolean> retry = new java.util.concurrent.ArrayBlockingQueue<>(1);
    private volatile Thread thread;
    private volatile boolean seen;
    private volatile String refused;
    private volatile boolean closed;
    private volatile InputStream open;
    private String resourceVersion;
    /** The last attempt failed: the next watch starts from any version (one request: the state, then its changes). */
    private boolean failedBefore;

    public NodeSpecWatch(KubeClient client, String nodeName, Runnable onChange) {
        this(client, nodeName, onChange, SILENCE);
    }

    /** SILENCE: how long a watch may hear nothing before it is taken for dead. */
    NodeSpecWatch(KubeClient client, String nodeName, Runnable onChange, Duration silence) {
        this.client = client;
        this.nodeName = nodeName;
        this.onChange = onChange;
        this.silence = silence;
    }

    @Override
    public Optional<ConntrackNodeState> current() {
        return seen ? Optional.ofNullable(latest.get()) : Optional.empty();
    }

    /**
     * Watches until {@link #close()}, on the calling thread (the agent gives it one): list, watch,
     * resume, and retry with a backoff while the API server is unreachable.
     */
    public void run() {
        thread = Thread.currentThread();
        Backoff backoff = new Backoff(MIN_BACKOFF, MAX_BACKOFF).spreadOver(RETRY_PERIOD, 3);
        String lastProblem = null;
        while (!closed) {
            long started = System.nanoTime();
            boolean failed = false;
            KubeApiException failure = null;
            try {
                if (resourceVersion == null) {
                    list();
                }
                watch();
            } catch (KubeApiException | IOException | RuntimeException e) {
                if (closed) {
                    return;
                }
                if (e instanceof KubeApiException k && k.code() == 410) {
                    // The version to resume from is too old: list again (at once, unless it keeps happening).
                    resourceVersion = null;
                } else {
                    failed = true;
                    failedBefore = true;
                    failure = e instanceof KubeApiException k ? k : null;
                    String problem = e.getMessage();
                    // One line per outage, not one per retry.
                    if (!Objects.equals(problem, lastProblem)) {
                        LOG.log(Level.WARNING, "watch of node state " + nodeName + " failed (" + problem + "); retrying with backoff");
                        lastProblem = problem;
                    }
                }
            }
            // A watch the server (or something in between) ends at once is retried with the same
            // backoff as a failure, so that nothing can turn this loop into a busy one.
            boolean quick = System.nanoTime() - started < MIN_BACKOFF.toNanos();
            if (failed || quick) {
                backOff(backoff.next(failure));
            } else {
                backoff.reset();
                lastProblem = null;
            }
        }
    }

    private String selector() {
        return "fieldSelector=" + URLEncoder.encode("metadata.name=" + nodeName, StandardCharsets.UTF_8);
    }

    /**
     * The node's state from the API server's watch cache (resourceVersion=0, as client-go's
     * reflector lists): after an outage thousands of agents list at once, and a consistent read
     * of each would go to etcd.
     */
    private void list() throws KubeApiException, IOException {
        NodeStateWatchJson.Listed listed = NodeStateWatchJson.list(
                client.get(PATH + "?" + selector() + "&resourceVersion=0"), nodeName);
        if (listed.item() != null) {
            update(listed.item());
        }
        resourceVersion = listed.resourceVersion();
    }

    private void watch() throws KubeApiException, IOException {
        int seconds = WATCH_SECONDS + ThreadLocalRandom.current().nextInt(WATCH_SECONDS + 1);
        // After a failure the version seen last may be gone (a restarted API server: 410, a list, a watch);
        // a watch from any version ("0", the watch cache) sends the state as it is, then its changes.
        String from = failedBefore ? "0" : resourceVersion;
        String path = PATH + "?" + selector() + "&watch=true&allowWatchBookmarks=true&timeoutSeconds=" + seconds
                + (from == null ? "" : "&resourceVersion=" + URLEncoder.encode(from, StandardCharsets.UTF_8));
        try (InputStream in = client.stream(path, Duration.ofSeconds(seconds + 30), silence)) {
            failedBefore = false;
            open = in;
            if (closed) {
                return;
            }
            // A watch body is a sequence of JSON objects {"type": ..., "object": ...}, one per line.
            try (JsonParser p = NodeStateJson.FACTORY.createParser(in)) {
                JsonToken token;
                while (!closed && (token = p.nextToken()) != null) {
                    NodeStateWatchJson.expect(token, JsonToken.START_OBJECT);
                    event(NodeStateWatchJson.event(p));
                }
            }
        } finally {
            open = null;
        }
    }

    private void event(NodeStateWatchJson.Event event) throws KubeApiException {
        if (event.object() != null) {
            ConntrackNodeState state = event.object().state();
            String version = state.getMetadata().getResourceVersion();
            if (version != null) {
                resourceVersion = version;
            }
            // A deleted state says nothing about the desired settings: keep enforcing the last known spec.
            if (("ADDED".equals(event.type()) || "MODIFIED".equals(event.type())) && nodeName.equals(state.getMetadata().getName())) {
                update(event.object());
            }
        }
        if ("ERROR".equals(event.type())) {
            // 410 Gone (the version is too old) is the usual one; for any other, a new list is also right.
            resourceVersion = null;
            if (event.code() != 410) {
                throw new KubeApiException(event.code(), "watch error: " + event.message());
            }
        }
    }

    /**
     * A node state arrived. One whose spec cannot be enforced as it is (a value of the wrong type, or
     * out of the schema's bounds: an object written before the schema checked it) is refused whole:
     * the last good spec stays in force (none: the agent only observes) and {@link #refused()} says why.
     */
    private void update(NodeStateJson.Read read) {
        ConntrackNodeState state = read.state();
        List<String> problems = new ArrayList<>(read.problems());
        problems.addAll(SpecValidator.problems(state.getSpec()));
        String was = refused;
        if (!problems.isEmpty()) {
            refused = "spec of generation " + state.getMetadata().getGeneration() + " refused, "
                    + (latest.get() == null ? "nothing enforced" : "generation " + latest.get().getMetadata().getGeneration()
                    + " still enforced") + ": " + String.join("; ", problems);
            if (!refused.equals(was)) {
                LOG.warning("node state " + nodeName + ": " + refused);
                onChange.run();
            }
            return;
        }
        ConntrackNodeState known = latest.get();
        Long arrived = state.getMetadata().getGeneration();
        if (known != null && Objects.equals(state.getMetadata().getUid(), known.getMetadata().getUid()) && arrived != null
                && known.getMetadata().getGeneration() != null && arrived < known.getMetadata().getGeneration()) {
            return; // a watch from any version may start from a cache behind what was seen: never go back
        }
        refused = null;
        ConntrackNodeState before = latest.getAndSet(state);
        seen = true;
        Long generation = before == null ? null : before.getMetadata().getGeneration();
        if (was != null || generation == null || !generation.equals(state.getMetadata().getGeneration())) {
            onChange.run();
        }
    }

    @Override
    public Optional<String> refused() {
        return Optional.ofNullable(refused);
    }

    /** Waits D before the next try, or less when {@link #retryNow()} is called meanwhile. */
    private void backOff(Duration d) {
        try {
            retry.poll(d.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closed = true;
        }
    }

    /**
     * Ends the backoff wait now: the cause of the failures is known to be gone (the node's
     * conntrack table has room again). A watch that runs is left alone; the next backoff after it
     * (if any) is then cut short once, which costs one early try.
     */
    @Override
    public void retryNow() {
        retry.offer(Boolean.TRUE);
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        if (t != null) {
            t.interrupt();
            InputStream in = open;
            if (in != null) {
                try {
                    in.close();
                } catch (IOException e) {
                    // Closing only ends the watch early; nothing to do about a failure.
                }
            }
        }
    }
}
