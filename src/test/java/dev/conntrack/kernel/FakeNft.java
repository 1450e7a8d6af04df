package dev.conntrack.kernel;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stand-in for nft that keeps one table in memory: {@code -f -} scripts in the two shapes
 * {@link NftablesNotrack} writes (replace the table, delete the table), {@code -j list table}
 * answered in nft 1.0.6's JSON, and the failures the real one has (missing binary, refusal).
 */
public final class FakeNft implements CommandRunner {
    private static final Pattern RULE = Pattern.compile("comment \"([^\"]*)\"");

    /** Chain of each rule (by comment); null when the table does not exist. */
    private List<String[]> rules;
    private List<String> chains = new ArrayList<>();
    public final List<List<String>> commands = new ArrayList<>();
    public final List<String> scripts = new ArrayList<>();
    public boolean missing;
    public String refuseWith;

    @Override
    public Result run(List<String> command, Duration timeout) throws IOException {
        return runWithInput(command, "", timeout);
    }

    @Override
    public Result runWithInput(List<String> command, String input, Duration timeout) throws IOException {
        commands.add(command);
        if (missing) {
            throw new IOException("Cannot run program \"nft\": error=2, No such file or directory");
        }
        if (command.contains("-f")) {
            scripts.add(input);
            if (refuseWith != null) {
                return new Result(1, "", refuseWith);
            }
            apply(input);
            return new Result(0, "", "");
        }
        if (command.contains("list")) {
            if (rules == null) {
                return new Result(1, "", "Error: No such file or directory\nlist table inet conntrack_operator\n");
            }
            return new Result(0, json(), "");
        }
        return new Result(1, "", "fake nft: unexpected " + command);
    }

    public boolean tableExists() {
        return rules != null;
    }

    public int ruleCount() {
        return rules == null ? 0 : rules.size();
    }

    /** What someone else does: nft delete table inet conntrack_operator. */
    public void deleteTable() {
        rules = null;
        chains = new ArrayList<>();
    }

    /** What someone else does: nft delete rule ... (the first one). */
    public void deleteFirstRule() {
        rules.remove(0);
    }

    private void apply(String script) {
        int body = script.indexOf('{');
        if (!script.contains("delete table inet conntrack_operator")) {
            throw new IllegalStateException("fake nft only knows the scripts NftablesNotrack writes: " + script);
        }
        if (body < 0) {
            deleteTable();
            return;
        }
        rules = new ArrayList<>();
        chains = new ArrayList<>();
        String current = null;
        for (String line : script.substring(body).split("\n")) {
            if (line.trim().startsWith("chain ")) {
                current = line.trim().split(" ")[1];
                chains.add(current);
                continue;
            }
            Matcher r = RULE.matcher(line);
            if (r.find()) {
                rules.add(new String[] {current, r.group(1)});
            }
        }
    }

    private String json() {
        StringBuilder s = new StringBuilder("{\"nftables\": [{\"metainfo\": {\"version\": \"1.0.6\", \"json_schema_version\": 1}}, "
                + "{\"table\": {\"family\": \"inet\", \"name\": \"conntrack_operator\", \"handle\": 7}}");
        int handle = 1;
        for (String chain : chains) {
            s.append(", {\"chain\": {\"family\": \"inet\", \"table\": \"conntrack_operator\", \"name\": \"").append(chain)
                    .append("\", \"handle\": ").append(handle++).append(", \"type\": \"filter\", \"hook\": \"").append(chain)
                    .append("\", \"prio\": -300, \"policy\": \"accept\"}}");
        }
        for (String[] rule : rules) {
            s.append(", {\"rule\": {\"family\": \"inet\", \"table\": \"conntrack_operator\", \"chain\": \"").append(rule[0])
                    .append("\", \"handle\": ").append(handle++).append(", \"comment\": \"").append(rule[1])
                    .append("\", \"expr\": [{\"notrack\": null}]}}");
        }
        return s.append("]}").toString();
    }
}
