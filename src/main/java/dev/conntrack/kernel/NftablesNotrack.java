package dev.conntrack.kernel;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The node's notrack rules, in one nftables table that belongs to us alone ({@value #TABLE_NAME}):
 * two base chains hooked at prerouting and output with priority raw (-300), before conntrack
 * (-200) sees a packet. Every other table is left alone; this class never names one.
 *
 * <p>Each {@link NotrackMatch} becomes four rules: the requests (to the port, and the network when
 * given) and the replies (from that port and network), in both chains. Both directions must skip
 * conntrack: a reply that is tracked creates an entry as surely as its request would, and a packet
 * enters through prerouting when it comes from outside or from a pod's veth, through output when a
 * local process (a node-local DNS cache, say) sends it.
 *
 * <p>The table is replaced in ONE {@code nft -f -} transaction (create if missing, delete, create
 * with its rules), so there is never a moment without rules, and a refused script changes nothing.
 * Each rule carries a comment naming what it matches; {@link #read()} compares chains and comments
 * with what is wanted, so an unchanged ruleset is never rewritten and a deleted or edited table is
 * seen. The nft command is a prefix list, e.g. {@code ip netns exec LAB nft} in tests, which keeps
 * every test out of the host's ruleset.
 */
public final class NftablesNotrack {
    public static final String FAMILY = "inet";
    public static final String TABLE = "conntrack_operator";
    public static final String TABLE_NAME = FAMILY + " " + TABLE;
    static final Duration TIMEOUT = Duration.ofSeconds(10);
    private static final String PRIORITY = "raw";
    private static final int PRIORITY_VALUE = -300;
    private static final List<String> HOOKS = List.of("prerouting", "output");
    /** Literal addresses only: nothing a resolver would look up, nothing that could break out of a rule. */
    private static final Pattern CIDR = Pattern.compile("((?:[0-9]{1,3}\\.){3}[0-9]{1,3}|[0-9a-fA-F.]*:[0-9a-fA-F:.]*)/[0-9]{1,3}");
    private static final JsonFactory JSON = new JsonFactory();

    /** One nftables rule: the chain, its text (without the comment) and the comment that identifies it. */
    public record NftRule(String chain, String match, String comment) {
        String render() {
            return match + " notrack comment \"" + comment + "\"";
        }
    }

    /** What the kernel holds of our table: absent, or its chains ("name hook prio policy") and its rules (chain + comment). */
    public record Live(boolean present, List<String> chains, List<String> rules) {
        public static final Live ABSENT = new Live(false, List.of(), List.of());

        /** Rules of ours in the kernel. */
        public int ruleCount() {
            return rules.size();
        }
    }

    /** nft is missing, timed out, or refused: MESSAGE says which, with nft's own words. */
    public static final class NftException extends Exception {
        public NftException(String message) {
            super(message);
        }
    }

    private final CommandRunner runner;
    private final List<String> nft;

    /** NFT: the command that runs nft, e.g. [nft] or [ip, netns, exec, LAB, nft]. */
    public NftablesNotrack(CommandRunner runner, List<String> nft) {
        this.runner = Objects.requireNonNull(runner, "runner");
        if (nft == null || nft.isEmpty()) {
            throw new IllegalArgumentException("the nft command must not be empty");
        }
        this.nft = List.copyOf(nft);
    }

    public List<String> command() {
        return nft;
    }

    /** The nftables rules for RULES, in order. @throws IllegalArgumentException for a CIDR that is not a literal network */
    public static List<NftRule> rules(List<NotrackMatch> rules) {
        List<NftRule> out = new ArrayList<>();
        for (String chain : HOOKS) {
            for (NotrackMatch r : rules) {
                String protocol = r.protocol();
                String ports = r.endPort() == r.port() ? Integer.toString(r.port()) : r.port() + "-" + r.endPort();
                String family = r.cidr() == null ? null : addressFamily(r.cidr());
                String to = family == null ? "" : family + " daddr " + r.cidr() + " ";
                String from = family == null ? "" : family + " saddr " + r.cidr() + " ";
                String where = r.cidr() == null ? "" : " " + r.cidr();
                out.add(new NftRule(chain, to + protocol + " dport " + ports, protocol + " dport " + ports + " to" + (where.isEmpty() ? " any" : where)));
                out.add(new NftRule(chain, from + protocol + " sport " + ports, protocol + " sport " + ports + " from" + (where.isEmpty() ? " any" : where)));
            }
        }
        return out;
    }

    /** The whole transaction that makes the table hold exactly RULES (created when missing, replaced otherwise). */
    public static String script(List<NotrackMatch> rules) {
        List<NftRule> nftRules = rules(rules);
        StringBuilder s = new StringBuilder();
        // "table" first makes the "delete" valid when the table does not exist yet: one transaction
        // for both cases, applied by the kernel as a whole or not at all.
        s.append("table ").append(TABLE_NAME).append('\n');
        s.append("delete table ").append(TABLE_NAME).append('\n');
        s.append("table ").append(TABLE_NAME).append(" {\n");
        for (String chain : HOOKS) {
            s.append("\tchain ").append(chain).append(" {\n");
            s.append("\t\ttype filter hook ").append(chain).append(" priority ").append(PRIORITY).append("; policy accept;\n");
            for (NftRule r : nftRules) {
                if (r.chain().equals(chain)) {
                    s.append("\t\t").append(r.render()).append('\n');
                }
            }
            s.append("\t}\n");
        }
        s.append("}\n");
        return s.toString();
    }

    /** What {@link #read()} returns once RULES are installed. */
    public static Live expected(List<NotrackMatch> rules) {
        List<String> chains = HOOKS.stream().map(h -> chainKey(h, h, PRIORITY_VALUE, "accept")).toList();
        List<String> keys = rules(rules).stream().map(r -> ruleKey(r.chain(), r.comment())).toList();
        return new Live(true, chains, keys);
    }

    /** Our table as the kernel has it now. */
    public Live read() throws NftException {
        List<String> command = new ArrayList<>(nft);
        command.addAll(List.of("-j", "list", "table", FAMILY, TABLE));
        CommandRunner.Result result = run(command, "");
        if (result.exitCode() != 0) {
            if (result.stderr().contains("No such file or directory")) {
                return Live.ABSENT;
            }
            throw new NftException(describe(command, result));
        }
        return parse(result.stdout());
    }

    /** Makes the table hold exactly RULES, in one transaction. */
    public void install(List<NotrackMatch> rules) throws NftException {
        String script;
        try {
            script = script(rules);
        } catch (IllegalArgumentException e) {
            throw new NftException("notrack rules not rendered: " + e.getMessage());
        }
        apply(script);
    }

    /** Deletes the table (and only it); nothing happens when it does not exist. */
    public void remove() throws NftException {
        apply("table " + TABLE_NAME + "\ndelete table " + TABLE_NAME + "\n");
    }

    private void apply(String script) throws NftException {
        List<String> command = new ArrayList<>(nft);
        command.addAll(List.of("-f", "-"));
        CommandRunner.Result result = run(command, script);
        if (result.exitCode() != 0) {
            throw new NftException(describe(command, result));
        }
    }

    private CommandRunner.Result run(List<String> command, String input) throws NftException {
        try {
            return runner.runWithInput(command, input, TIMEOUT);
        } catch (IOException e) {
            throw new NftException(String.join(" ", command) + " could not run (is nftables installed in the agent image?): " + e.getMessage());
        }
    }

    /** The table of {@code nft -j list table} output: chains and rule comments, in kernel order. */
    /**
     * Reads {@code nft -j list table} output with jackson-core's streaming parser: the agent does
     * not load Jackson databind (about 600 classes of its footprint) for this one small document.
     */
    static Live parse(String json) throws NftException {
        List<String> chains = new ArrayList<>();
        List<String> rules = new ArrayList<>();
        boolean table = false;
        try (JsonParser p = JSON.createParser(json)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new NftException("nft -j list printed no JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (!"nftables".equals(field) || p.currentToken() != JsonToken.START_ARRAY) {
                    p.skipChildren();
                    continue;
                }
                while (p.nextToken() == JsonToken.START_OBJECT) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String kind = p.currentName();
                        p.nextToken();
                        switch (kind) {
                            case "table" -> {
                                table = true;
                                p.skipChildren();
                            }
                            case "chain" -> {
                                Map<String, String> c = scalars(p);
                                chains.add(chainKey(c.getOrDefault("name", ""), c.getOrDefault("hook", ""),
                                        intOr(c.get("prio"), Integer.MIN_VALUE), c.getOrDefault("policy", "")));
                            }
                            case "rule" -> {
                                Map<String, String> r = scalars(p);
                                rules.add(ruleKey(r.getOrDefault("chain", ""), r.getOrDefault("comment", "")));
                            }
                            default -> p.skipChildren();
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new NftException("nft -j list printed no JSON: " + e.getMessage());
        }
        return table ? new Live(true, chains, rules) : Live.ABSENT;
    }

    /** The scalar fields of the object at the parser (nested objects and arrays, e.g. a rule's expr, skipped). */
    private static Map<String, String> scalars(JsonParser p) throws IOException {
        Map<String, String> out = new HashMap<>();
        if (p.currentToken() != JsonToken.START_OBJECT) {
            p.skipChildren();
            return out;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (value.isScalarValue()) {
                out.put(name, p.getValueAsString());
            } else {
                p.skipChildren();
            }
        }
        return out;
    }

    private static int intOr(String text, int fallback) {
        try {
            return text == null ? fallback : Integer.parseInt(text.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private static String chainKey(String name, String hook, int prio, String policy) {
        return name + " hook " + hook + " priority " + prio + " policy " + policy;
    }

    private static String ruleKey(String chain, String comment) {
        return chain + ": " + comment;
    }

    /** "ip" or "ip6" for a literal CIDR; anything else is refused before it reaches nft. */
    static String addressFamily(String cidr) {
        if (!CIDR.matcher(cidr).matches()) {
            throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr);
        }
        int slash = cidr.indexOf('/');
        String address = cidr.substring(0, slash);
        int length = Integer.parseInt(cidr.substring(slash + 1));
        try {
            // A literal (checked above): no name lookup happens.
            InetAddress parsed = InetAddress.getByName(address);
            int bits = parsed.getAddress().length * 8;
            if (length > bits) {
                throw new IllegalArgumentException("prefix length " + length + " too long in " + cidr);
            }
            return bits == 32 ? "ip" : "ip6";
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("not an IPv4 or IPv6 network: " + cidr);
        }
    }

    private static String describe(List<String> command, CommandRunner.Result result) {
        String err = result.stderr().strip();
        if (err.length() > 400) {
            err = err.substring(0, 400) + "...";
        }
        return String.join(" ", command) + " failed (exit " + result.exitCode() + ")" + (err.isEmpty() ? "" : ": " + err.replace('\n', ' '));
    }
}
