package dev.conntrack.agent.core;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.api.NodeConditionTypes;
import dev.conntrack.api.DriftPolicy;
import dev.conntrack.api.Mode;
import dev.conntrack.api.NotrackProtocol;
import dev.conntrack.api.NotrackRule;
import dev.conntrack.api.NotrackStatus;
import dev.conntrack.kernel.FakeNft;
import dev.conntrack.kernel.NftablesNotrack;
import io.fabric8.kubernetes.api.model.Condition;
import java.time.Duration;
import java.util.List;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class NotrackEnforcerTest {
    private static final List<NotrackRule> DNS = List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "169.254.20.10/32"));
    private static final List<NotrackRule> DNS_AND_NTP = List.of(DNS.get(0), new NotrackRule(NotrackProtocol.udp, 123, null, null));

    /** The documented drift check: "on a spec change at once, else every 10 s, never on every poll". */
    private static final Duration CHECK = Duration.ofSeconds(10);

    private final FakeNft fake = new FakeNft();
    private final AtomicLong now = new AtomicLong(5_000_000_000L);
    private final NotrackEnforcer enforcer = new NotrackEnforcer(new NftablesNotrack(fake, List.of("nft")), now::get);

    @Test
    void installsOnceThenOnlyChecksEveryFewSeconds() {
        NotrackEnforcer.Outcome first = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(fake.ruleCount()).isEqualTo(4);
        assertThat(first.status().getState()).isEqualTo(NotrackStatus.INSTALLED);
        assertThat(first.status().getInstalled()).isEqualTo(4);
        assertThat(first.status().getRules()).containsExactly("udp 53 169.254.20.10/32");
        assertThat(first.status().getTable()).isEqualTo("inet conntrack_operator");
        assertThat(first.installed()).isEqualTo("installed notrack rules udp 53 169.254.20.10/32 (4 nftables rules in table inet conntrack_operator)");
        assertThat(first.failed()).isFalse();

        int commands = fake.commands.size();
        NotrackEnforcer.Outcome polled = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(fake.commands).hasSize(commands); // no nft process on an ordinary poll
        assertThat(polled.status()).isEqualTo(first.status());
        assertThat(polled.installed()).isNull(); // the Event is for the pass that installed

        now.addAndGet(CHECK.toNanos() - 1);
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(fake.commands).as("no check before 10 s").hasSize(commands);
        now.addAndGet(1);
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(fake.commands).hasSize(commands + 1); // one read, no rewrite: the table is as wanted
        assertThat(fake.scripts).hasSize(1);
    }

    @Test
    void aTableDeletedAfterAQuietCheckIsStillOurs() {
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        now.addAndGet(CHECK.toNanos());
        assertThat(enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply).override()).isNull(); // checked: in place
        fake.deleteTable();
        now.addAndGet(CHECK.toNanos());

        assertThat(enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply).override())
                .startsWith("notrack table inet conntrack_operator was changed outside the agent");
    }

    @Test
    void noRulesAndNoTableIsNothingToReport() {
        assertThat(enforcer.reconcile(List.of(), Mode.Enforce, DriftPolicy.Reapply)).isEqualTo(NotrackEnforcer.Outcome.NONE);
        assertThat(fake.scripts).isEmpty();
    }

    @Test
    void aRuleThatCannotBeRenderedFailsWithoutRunningNft() {
        List<NotrackRule> bad = List.of(new NotrackRule(NotrackProtocol.udp, 53, null, "10.0.0.0/33"));
        NotrackEnforcer.Outcome outcome = enforcer.reconcile(bad, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(outcome.failed()).isTrue();
        assertThat(outcome.status().getState()).isEqualTo(NotrackStatus.FAILED);
        assertThat(outcome.failure()).isEqualTo("notrack rules not rendered: prefix length 33 too long in 10.0.0.0/33");
        assertThat(fake.commands).isEmpty();
    }

    @Test
    void aChangedSpecReplacesTheTableAtOnce() {
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        NotrackEnforcer.Outcome changed = enforcer.reconcile(DNS_AND_NTP, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(fake.ruleCount()).isEqualTo(8);
        assertThat(changed.status().getInstalled()).isEqualTo(8);
        assertThat(changed.override()).isNull(); // our own change, not drift
    }

    @Test
    void rulesLeavingTheSpecRemoveTheTable() {
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        NotrackEnforcer.Outcome removed = enforcer.reconcile(null, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(fake.tableExists()).isFalse();
        assertThat(removed.status().getState()).isEqualTo(NotrackStatus.ABSENT);
        assertThat(removed.removed()).isEqualTo("removed notrack table inet conntrack_operator (4 rules)");

        // Gone and not wanted: nft is not asked again until the spec changes.
        int commands = fake.commands.size();
        now.addAndGet(Duration.ofMinutes(5).toNanos());
        assertThat(enforcer.reconcile(List.of(), Mode.Enforce, DriftPolicy.Reapply).removed()).isNull();
        assertThat(fake.commands).hasSize(commands);
    }

    @Test
    void aTableLeftBehindIsRemovedWhenTheSpecHasNoRules() throws Exception {
        new NftablesNotrack(fake, List.of("nft")).install(NotrackEnforcer.matches(DNS)); // an earlier agent's, say

        NotrackEnforcer.Outcome outcome = enforcer.reconcile(null, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(fake.tableExists()).isFalse();
        assertThat(outcome.removed()).isNotNull();
    }

    @Test
    void aDeletedTableIsPutBackAndReportedAsOverride() {
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        fake.deleteTable();
        now.addAndGet(CHECK.toNanos());

        NotrackEnforcer.Outcome outcome = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);

        assertThat(fake.ruleCount()).isEqualTo(4);
        assertThat(outcome.status().getState()).isEqualTo(NotrackStatus.INSTALLED);
        assertThat(outcome.override()).isEqualTo("notrack table inet conntrack_operator was changed outside the agent (0 of 4 rules found); reinstalled");
    }

    @Test
    void driftPolicyReportLeavesAnEditedTableAndSaysSo() {
        enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Report);
        fake.deleteFirstRule();
        now.addAndGet(CHECK.toNanos());

        NotrackEnforcer.Outcome outcome = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Report);

        assertThat(fake.ruleCount()).isEqualTo(3);
        assertThat(outcome.status().getState()).isEqualTo(NotrackStatus.PENDING);
        assertThat(outcome.leftAsFound()).isTrue();
        assertThat(outcome.override()).contains("3 of 4 rules found").endsWith("left as found");
        List<Condition> conditions = NodeConditions.withNotrack(baseConditions(), outcome, false, 3L);
        assertThat(find(conditions, NodeConditionTypes.APPLIED).getReason()).isEqualTo("ExternalOverride");
        assertThat(find(conditions, NodeConditionTypes.DEGRADED).getStatus()).isEqualTo("False");
    }

    @Test
    void observeOnlyWritesNothingAndSaysWhatItWould() {
        NotrackEnforcer.Outcome outcome = enforcer.reconcile(DNS, Mode.ObserveOnly, DriftPolicy.Reapply);

        assertThat(fake.tableExists()).isFalse();
        assertThat(fake.scripts).isEmpty();
        assertThat(outcome.status().getState()).isEqualTo(NotrackStatus.PENDING);
        assertThat(outcome.status().getMessage()).isEqualTo("observe only, would install 4 rules for udp 53 169.254.20.10/32");
        // The spec asks for ObserveOnly: Applied stays True; an agent capped to observe-only is not Applied.
        assertThat(find(NodeConditions.withNotrack(baseConditions(), outcome, false, 3L), NodeConditionTypes.APPLIED).getStatus()).isEqualTo("True");
        Condition capped = find(NodeConditions.withNotrack(baseConditions(), outcome, true, 3L), NodeConditionTypes.APPLIED);
        assertThat(capped.getStatus()).isEqualTo("False");
        assertThat(capped.getReason()).isEqualTo("AgentObserveOnly");
    }

    @Test
    void aMissingOrRefusingNftDegradesTheNodeOnlyWhenRulesAreWanted() {
        fake.missing = true;
        assertThat(enforcer.reconcile(null, Mode.Enforce, DriftPolicy.Reapply).status()).isNull();

        NotrackEnforcer.Outcome missing = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(missing.failed()).isTrue();
        assertThat(missing.status().getState()).isEqualTo(NotrackStatus.FAILED);
        assertThat(missing.status().getMessage()).contains("is nftables installed in the agent image?");
        List<Condition> conditions = NodeConditions.withNotrack(baseConditions(), missing, false, 3L);
        Condition degraded = find(conditions, NodeConditionTypes.DEGRADED);
        assertThat(degraded.getStatus()).isEqualTo("True");
        assertThat(degraded.getReason()).isEqualTo("NotrackFailed");
        assertThat(find(conditions, NodeConditionTypes.APPLIED).getReason()).isEqualTo("NotrackFailed");
        // The sysctl conditions are otherwise untouched.
        assertThat(find(conditions, NodeConditionTypes.PRESSURE)).isEqualTo(find(baseConditions(), NodeConditionTypes.PRESSURE));

        fake.missing = false;
        fake.refuseWith = "Error: Could not process rule: Operation not permitted";
        now.addAndGet(CHECK.toNanos()); // failures are retried at the check interval
        NotrackEnforcer.Outcome refused = enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply);
        assertThat(refused.failure()).isEqualTo("nft -f - failed (exit 1): Error: Could not process rule: Operation not permitted");

        fake.refuseWith = null;
        now.addAndGet(CHECK.toNanos());
        assertThat(enforcer.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply).status().getState()).isEqualTo(NotrackStatus.INSTALLED);
    }

    @Test
    void withoutNftOnlyANodeThatWantsRulesFails() {
        NotrackEnforcer without = new NotrackEnforcer(null, now::get);
        assertThat(without.reconcile(List.of(), Mode.Enforce, DriftPolicy.Reapply).status()).isNull();
        assertThat(without.reconcile(DNS, Mode.Enforce, DriftPolicy.Reapply).failure()).contains("CONNTRACK_NFT_COMMAND is empty");
    }

    /** A node whose sysctls are all as wanted. */
    private static List<Condition> baseConditions() {
        return NodeConditions.evaluate(new ApplyReport(Mode.Enforce, List.of(), java.util.Map.of()), OptionalDouble.of(10),
                DropRate.UNKNOWN, 80, 3L);
    }

    private static Condition find(List<Condition> conditions, String type) {
        return conditions.stream().filter(c -> type.equals(c.getType())).findFirst().orElseThrow();
    }
}
