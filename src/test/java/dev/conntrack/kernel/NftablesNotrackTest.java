package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class NftablesNotrackTest {
    private static final NotrackMatch DNS = NotrackMatch.of("udp", 53, null, "169.254.20.10/32");
    private static final NotrackMatch PORTS_V6 = NotrackMatch.of("tcp", 30000, 30100, "fd00::/64");
    private static final NotrackMatch ANY = NotrackMatch.of("udp", 123, 123, null);

    @Test
    void oneTransactionReplacesTheWholeTableWithRequestsAndRepliesInBothChains() {
        String script = NftablesNotrack.script(List.of(DNS, PORTS_V6, ANY));

        assertThat(script).isEqualTo("""
                table inet conntrack_operator
                delete table inet conntrack_operator
                table inet conntrack_operator {
                \tchain prerouting {
                \t\ttype filter hook prerouting priority raw; policy accept;
                \t\tip daddr 169.254.20.10/32 udp dport 53 notrack comment "udp dport 53 to 169.254.20.10/32"
                \t\tip saddr 169.254.20.10/32 udp sport 53 notrack comment "udp sport 53 from 169.254.20.10/32"
                \t\tip6 daddr fd00::/64 tcp dport 30000-30100 notrack comment "tcp dport 30000-30100 to fd00::/64"
                \t\tip6 saddr fd00::/64 tcp sport 30000-30100 notrack comment "tcp sport 30000-30100 from fd00::/64"
                \t\tudp dport 123 notrack comment "udp dport 123 to any"
                \t\tudp sport 123 notrack comment "udp sport 123 from any"
                \t}
                \tchain output {
                \t\ttype filter hook output priority raw; policy accept;
                \t\tip daddr 169.254.20.10/32 udp dport 53 notrack comment "udp dport 53 to 169.254.20.10/32"
                \t\tip saddr 169.254.20.10/32 udp sport 53 notrack comment "udp sport 53 from 169.254.20.10/32"
                \t\tip6 daddr fd00::/64 tcp dport 30000-30100 notrack comment "tcp dport 30000-30100 to fd00::/64"
                \t\tip6 saddr fd00::/64 tcp sport 30000-30100 notrack comment "tcp sport 30000-30100 from fd00::/64"
                \t\tudp dport 123 notrack comment "udp dport 123 to any"
                \t\tudp sport 123 notrack comment "udp sport 123 from any"
                \t}
                }
                """);
    }

    @Test
    void anythingButALiteralNetworkIsRefusedBeforeNftSeesIt() {
        for (String bad : List.of("10.0.0.0", "example.com/8", "abc/8", "10.0.0.0/33", "fd00::/129", "10.0.0.0/8\"; flush ruleset",
                "1.2.3.4/8 ip saddr 0.0.0.0/0")) {
            assertThatThrownBy(() -> NftablesNotrack.rules(List.of(NotrackMatch.of("udp", 53, null, bad))))
                    .as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(NftablesNotrack.addressFamily("10.96.0.0/12")).isEqualTo("ip");
        assertThat(NftablesNotrack.addressFamily("::/0")).isEqualTo("ip6");
    }

    /** Real output of nft 1.0.6 (`nft -j list table inet conntrack_operator`) for one rule. */
    @Test
    void readsChainsAndRuleCommentsFromNftJson() throws Exception {
        String json = """
                {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, \
                {"table": {"family": "inet", "name": "conntrack_operator", "handle": 2}}, \
                {"chain": {"family": "inet", "table": "conntrack_operator", "name": "prerouting", "handle": 1, "type": "filter", "hook": "prerouting", "prio": -300, "policy": "accept"}}, \
                {"chain": {"family": "inet", "table": "conntrack_operator", "name": "output", "handle": 2, "type": "filter", "hook": "output", "prio": -300, "policy": "accept"}}, \
                {"rule": {"family": "inet", "table": "conntrack_operator", "chain": "prerouting", "handle": 3, "comment": "udp dport 53 to 169.254.20.10/32", \
                "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "169.254.20.10"}}, \
                {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 53}}, {"notrack": null}]}}]}
                """;

        NftablesNotrack.Live live = NftablesNotrack.parse(json);

        assertThat(live.present()).isTrue();
        assertThat(live.ruleCount()).isEqualTo(1);
        NftablesNotrack.Live wanted = NftablesNotrack.expected(List.of(DNS));
        assertThat(live.chains()).isEqualTo(wanted.chains());
        assertThat(wanted.rules()).startsWith(live.rules().get(0)).hasSize(4);
        assertThat(live).isNotEqualTo(wanted); // three rules missing
    }

    @Test
    void installedRulesReadBackAsExpectedAndRemovalLeavesNothing() throws Exception {
        FakeNft fake = new FakeNft();
        NftablesNotrack nft = new NftablesNotrack(fake, List.of("ip", "netns", "exec", "lab", "nft"));

        assertThat(nft.read()).isEqualTo(NftablesNotrack.Live.ABSENT);
        nft.install(List.of(DNS, ANY));
        assertThat(nft.read()).isEqualTo(NftablesNotrack.expected(List.of(DNS, ANY)));
        nft.remove();
        assertThat(nft.read()).isEqualTo(NftablesNotrack.Live.ABSENT);
        nft.remove(); // idempotent: deleting a missing table is no error

        // The command prefix is used as given: tests keep nft inside their lab namespace.
        assertThat(fake.commands).allSatisfy(c -> assertThat(c.subList(0, 5)).containsExactly("ip", "netns", "exec", "lab", "nft"));
        assertThat(fake.commands.get(0)).endsWith("-j", "list", "table", "inet", "conntrack_operator");
        assertThat(fake.commands.get(1)).endsWith("-f", "-");
    }

    @Test
    void refusalsAndAMissingBinaryComeBackWithNftsWords() {
        FakeNft fake = new FakeNft();
        NftablesNotrack nft = new NftablesNotrack(fake, List.of("nft"));

        fake.refuseWith = "Error: Could not process rule: Operation not permitted\n";
        assertThatThrownBy(() -> nft.install(List.of(DNS)))
                .isInstanceOf(NftablesNotrack.NftException.class)
                .hasMessage("nft -f - failed (exit 1): Error: Could not process rule: Operation not permitted");

        fake.missing = true;
        assertThatThrownBy(nft::read)
                .isInstanceOf(NftablesNotrack.NftException.class)
                .hasMessageContaining("could not run (is nftables installed in the agent image?)");
    }
}
