package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;
import java.util.Objects;

/** The node's notrack rules as the agent last found or left them in the kernel. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NotrackStatus {
    /** Rules of the spec are in the kernel. */
    public static final String INSTALLED = "Installed";
    /** The spec has no rules and the kernel none of ours (the table was removed, or never there). */
    public static final String ABSENT = "Absent";
    /** ObserveOnly (or driftPolicy Report after a change behind our back): the kernel differs from the spec, nothing written. */
    public static final String PENDING = "Pending";
    /** nft is missing or refused the ruleset (see message). */
    public static final String FAILED = "Failed";

    @JsonPropertyDescription("Installed, Absent, Pending (ObserveOnly or driftPolicy Report: would change) or Failed.")
    private String state;

    @JsonPropertyDescription("The nftables table that holds the rules; the agent never touches any other.")
    private String table;

    @JsonPropertyDescription("nftables rules of ours found in the kernel at the last check (4 per notrack entry: requests and replies, in prerouting and output).")
    private Integer installed;

    @JsonPropertyDescription("The notrack entries of the spec, as protocol port[-endPort] [cidr].")
    private List<String> rules;

    @JsonPropertyDescription("What the agent did or would do, or why it could not.")
    private String message;

    @Override
    public boolean equals(Object o) {
        return o instanceof NotrackStatus s && Objects.equals(state, s.state) && Objects.equals(table, s.table)
                && Objects.equals(installed, s.installed) && Objects.equals(rules, s.rules) && Objects.equals(message, s.message);
    }

    @Override
    public int hashCode() {
        return Objects.hash(state, table, installed, rules, message);
    }

    public String getState() { return state; }
    public void setState(String state) { this.state = state; }
    public String getTable() { return table; }
    public void setTable(String table) { this.table = table; }
    public Integer getInstalled() { return installed; }
    public void setInstalled(Integer installed) { this.installed = installed; }
    public List<String> getRules() { return rules; }
    public void setRules(List<String> rules) { this.rules = rules; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
}
