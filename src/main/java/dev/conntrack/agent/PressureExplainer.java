package dev.conntrack.agent;

import dev.conntrack.agent.core.PressureRecommendations;
import dev.conntrack.agent.core.Recommendation;
import dev.conntrack.agent.core.SnapshotLimiter;
import dev.conntrack.api.TableExplanation;
import dev.conntrack.kernel.ConntrackTableSummarizer;
import dev.conntrack.kernel.HeavyHitters;
import dev.conntrack.kernel.TableSummary;
import java.time.Clock;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Lists the table once when it is under pressure (at most every few minutes) or when asked, on a
 * worker the agent gives it so a listing of a large table never delays a poll, and keeps the newest
 * explanation.
 */
final class PressureExplainer {
    private static final Logger LOG = Logger.getLogger(PressureExplainer.class.getName());

    private final ConntrackTableSummarizer summarizer;
    private final SnapshotLimiter limiter;
    private final Clock clock;
    private final Executor worker;
    private final AtomicBoolean busy = new AtomicBoolean();
    private final AtomicReference<TableExplanation> latest = new AtomicReference<>();

    /** WORKER runs the listings: a thread of the agent's own, so a listing never delays a poll. */
    PressureExplainer(ConntrackTableSummarizer summarizer, SnapshotLimiter limiter, Clock clock, Executor worker) {
        this.worker = worker;
        this.summarizer = summarizer;
        this.limiter = limiter;
        this.clock = clock;
    }

    void requestManual() {
        limiter.requestManual();
    }

    /**
     * Starts a listing when the limiter allows it. {@code pid} selects another namespace's table
     * (null: the node's own); {@code done} gets the explanation on the worker thread.
     */
    void maybeExplain(boolean underPressure, Long pid, String namespace, Supplier<PressureRecommendations.Context> contextNow,
            Consumer<TableExplanation> done) {
        if (busy.get() || !limiter.decide(underPressure).take()) {
            return;
        }
        // Built only when a listing runs (rarely): it reads /proc/meminfo, which an idle poll must not.
        PressureRecommendations.Context context = contextNow.get();
        busy.set(true);
        worker.execute(() -> {
            try {
                TableSummary summary = pid == null ? summarizer.summarize() : summarizer.summarize(pid);
                TableExplanation explanation = explanation(summary, PressureRecommendations.recommend(summary, context), namespace);
                latest.set(explanation);
                done.accept(explanation);
            } catch (Exception e) {
                // A table that cannot be listed (no procfs listing, no conntrack binary) is not worth failing for.
                LOG.log(Level.INFO, "table listing failed: " + e.getMessage());
            } finally {
                busy.set(false);
            }
        });
    }

    TableExplanation latest() {
        return latest.get();
    }

    private TableExplanation explanation(TableSummary summary, List<Recommendation> recommendations, String namespace) {
        TableExplanation e = new TableExplanation();
        e.setTime(clock.instant().truncatedTo(ChronoUnit.SECONDS).toString());
        e.setNamespace(namespace);
        e.setEntries(summary.entries());
        e.setTruncated(summary.truncated() ? Boolean.TRUE : null);
        e.setByTcpState(summary.byTcpState().isEmpty() ? null : new TreeMap<>(summary.byTcpState()));
        e.setByProtocol(summary.byL4Protocol().isEmpty() ? null : new TreeMap<>(summary.byL4Protocol()));
        e.setAssuredPercent(Math.round(summary.assuredShare() * 1000) / 10.0);
        e.setTopSources(tops(summary.topSources()));
        e.setTopDestinations(tops(summary.topDestinations()));
        e.setTopDestinationPorts(tops(summary.topDestinationPorts()));
        e.setRecommendations(recommendations.isEmpty() ? null : recommendations.stream().map(Recommendation::message).toList());
        return e;
    }

    private static List<String> tops(List<HeavyHitters.Top> tops) {
        return tops.isEmpty() ? null : tops.stream().map(t -> t.key() + "=" + t.count()).toList();
    }
}
