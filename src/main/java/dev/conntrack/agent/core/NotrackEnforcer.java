package dev.conntrack.agent.core;

import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.kernel.NftablesNotrack;
import dev.conntrack.kernel.NotrackMatch;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.LongSupplier;

/**
 * Keeps the node's notrack table equal to the spec's {@code conntrack.notrack}: installs it,
 * replaces it when the rules change, deletes it when the spec has none left (policy removed), and
 * puts it back when someone else deleted or edited it (driftPolicy Reapply; Report only says so).
 * ObserveOnly writes nothing and reports what it would do.
 *
 * <p>nft is a process: the kernel is asked at once when the spec, mode or drift policy changes, and
 * otherwise every {@link #CHECK_EVERY} (drift), not on every poll. A node whose spec has no rules and
 * whose table is known to be gone is not asked again until the spec changes. Without nft (missing,
 * or refused) only a node that wants rules reports a failure. Called from the poll thread.
 */
public final class NotrackEnforcer {
    public static final Duration CHECK_EVERY = Duration.ofSeconds(10);

    /**
     * One pass. STATUS is null while the node neither wants rules nor has our table. The event
     * texts are set only in the pass where the thing happened.
     */
    public record Outcome(NotrackStatus status, int installedRules, String failure, boolean leftAsFound, String installed,
                          String removed, String override) {
        /** Nothing to report: no rules wanted, none of ours found, or the spec is unknown. */
        public static final Outcome NONE = new Outcome(null, 0, null, false, null, null, null);

        /** True when the rules the spec asks for are not in place because of an error. */
        public boolean failed() {
            return failure != null;
        }
    }

    private final NftablesNotrack nft;
    private final LongSupplier nanoTime;
    private List<NotrackRule> lastDesired;
    private Mode lastMode;
    private DriftPolicy lastDrift;
    private long lastCheck;
    private Outcome last = Outcome.NONE;
    /** The rules this agent installed and saw in place: a difference later is someone else's doing. */
    private List<NotrackRule> ours;

    /** NFT null: this agent runs without nft (it cannot install rules and says so when asked to). */
    public NotrackEnforcer(NftablesNotrack nft, LongSupplier nanoTime) {
        this.nft = nft;
        this.nanoTime = Objects.requireNonNull(nanoTime, "nanoTime");
    }

    public Outcome reconcile(List<NotrackRule> desired, Mode mode, DriftPolicy drift) {
        List<NotrackRule> want = desired == null ? List.of() : List.copyOf(desired);
        long now = nanoTime.getAsLong();
        boolean changed = !want.equals(lastDesired) || mode != lastMode || drift != lastDrift;
        boolean watching = !want.isEmpty() || (last.status() != null && !NotrackStatus.ABSENT.equals(last.status().getState()));
        if (!changed && !(watching && now - lastCheck >= CHECK_EVERY.toNanos())) {
            return quiet(last);
        }
        lastDesired = want;
        lastMode = mode;
        lastDrift = drift;
        lastCheck = now;
        last = check(want, mode, drift);
        return last;
    }

    private Outcome check(List<NotrackRule> want, Mode mode, DriftPolicy drift) {
        List<String> described = want.stream().map(NotrackRule::toString).toList();
        if (nft == null) {
            return want.isEmpty() ? Outcome.NONE
                    : failed(described, "notrack rules need nft, and this agent runs without it (CONNTRACK_NFT_COMMAND is empty)");
        }
        NftablesNotrack.Live wanted;
        List<NotrackMatch> matches;
        try {
            matches = matches(want);
            wanted = want.isEmpty() ? NftablesNotrack.Live.ABSENT : NftablesNotrack.expected(matches);
        } catch (IllegalArgumentException e) {
            return failed(described, "notrack rules not rendered: " + e.getMessage());
        }
        NftablesNotrack.Live live;
        try {
            live = nft.read();
        } catch (NftablesNotrack.NftException e) {
            // A node that wants no rules needs no nft: not a failure there.
            return want.isEmpty() ? Outcome.NONE : failed(described, e.getMessage());
        }
        if (live.equals(wanted)) {
            ours = want.isEmpty() ? null : want;
            return want.isEmpty() ? Outcome.NONE
                    : outcome(NotrackStatus.INSTALLED, live.ruleCount(), described, wanted.ruleCount() + " rules in place", null, null, null, null);
        }
        String what = want.isEmpty() ? "remove table " + NftablesNotrack.TABLE_NAME + " (" + live.ruleCount() + " rules)"
                : "install " + wanted.ruleCount() + " rules for " + String.join(", ", described);
        if (mode == Mode.ObserveOnly) {
            return outcome(NotrackStatus.PENDING, live.ruleCount(), described, "observe only, would " + what, null, null, null, null);
        }
        // Ours were in place and the spec has not changed since: someone else deleted or edited them.
        String override = want.equals(ours) ? "notrack table " + NftablesNotrack.TABLE_NAME + " was changed outside the agent ("
                + live.ruleCount() + " of " + wanted.ruleCount() + " rules found)" : null;
        if (override != null && drift == DriftPolicy.Report) {
            return outcome(NotrackStatus.PENDING, live.ruleCount(), described,
                    override + "; left as found (driftPolicy Report), would " + what, null, null, null, override + "; left as found");
        }
        try {
            if (want.isEmpty()) {
                nft.remove();
                ours = null;
                return outcome(NotrackStatus.ABSENT, 0, null, "table " + NftablesNotrack.TABLE_NAME + " removed", null, null,
                        "removed notrack table " + NftablesNotrack.TABLE_NAME + " (" + live.ruleCount() + " rules)", override);
            }
            nft.install(matches);
            NftablesNotrack.Live after = nft.read();
            if (!after.equals(wanted)) {
                return failed(described, "nft accepted the rules but the table reads back different: " + after.rules());
            }
            ours = want;
            return outcome(NotrackStatus.INSTALLED, after.ruleCount(), described, wanted.ruleCount() + " rules in place", null,
                    "installed notrack rules " + String.join(", ", described) + " (" + after.ruleCount() + " nftables rules in table "
                            + NftablesNotrack.TABLE_NAME + ")", null, override == null ? null : override + "; reinstalled");
        } catch (NftablesNotrack.NftException e) {
            return failed(described, e.getMessage());
        }
    }

    /**
     * The kernel's view of the spec's rules. A rule the schema should have refused (no protocol or
     * port, from an object written under an older CRD) is refused here, naming it.
     */
    static List<NotrackMatch> matches(List<NotrackRule> rules) {
        List<NotrackMatch> out = new java.util.ArrayList<>(rules.size());
        for (NotrackRule r : rules) {
            if (r == null || r.getProtocol() == null || r.getPort() == null) {
                throw new IllegalArgumentException("rule \"" + r + "\" needs a protocol and a port");
            }
            out.add(NotrackMatch.of(r.getProtocol().name(), r.getPort(), r.getEndPort(), r.getCidr()));
        }
        return out;
    }

    /** The same outcome without its one-time event texts. */
    private static Outcome quiet(Outcome o) {
        return new Outcome(o.status(), o.installedRules(), o.failure(), o.leftAsFound(), null, null, null);
    }

    private static Outcome failed(List<String> rules, String message) {
        return outcome(NotrackStatus.FAILED, 0, rules, message, message, null, null, null);
    }

    private static Outcome outcome(String state, int installed, List<String> rules, String message, String failure,
            String installedEvent, String removedEvent, String override) {
        NotrackStatus status = new NotrackStatus();
        status.setState(state);
        status.setTable(NftablesNotrack.TABLE_NAME);
        status.setInstalled(installed);
        status.setRules(rules == null || rules.isEmpty() ? null : rules);
        status.setMessage(message);
        boolean leftAsFound = NotrackStatus.PENDING.equals(state) && override != null;
        return new Outcome(status, installed, failure, leftAsFound, installedEvent, removedEvent, override);
    }
}
