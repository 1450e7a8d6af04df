package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Kernel conntrack counters, summed across CPUs (/proc/net/stat/nf_conntrack or netlink), cumulative since boot. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class DropCounters {
    @JsonPropertyDescription("Packets dropped because the table was full, in the node's own network namespace.")
    private Long drop;

    @JsonPropertyDescription("Packets dropped because a table was full, in every network namespace of the node together (pods, NAT namespaces).")
    private Long dropAllNamespaces;

    @JsonPropertyDescription("Entries evicted early to make room (a warning sign).")
    private Long earlyDrop;

    @JsonPropertyDescription("Insertions that failed (races, e.g. DNS over UDP; causes 5s lookups).")
    private Long insertFailed;

    @JsonPropertyDescription("Packets that could not be tracked.")
    private Long invalid;

    @JsonPropertyDescription("'table full, dropping packet' kernel log lines seen since the agent started, including the rate-limited ('callbacks suppressed') ones.")
    private Long tableFullLogLines;

    @JsonPropertyDescription("Drops per second over the last poll interval, in every network namespace of the node.")
    private Double dropsPerSecond;

    public Long getDrop() { return drop; }
    public void setDrop(Long drop) { this.drop = drop; }
    public Long getDropAllNamespaces() { return dropAllNamespaces; }
    public void setDropAllNamespaces(Long dropAllNamespaces) { this.dropAllNamespaces = dropAllNamespaces; }
    public Long getEarlyDrop() { return earlyDrop; }
    public void setEarlyDrop(Long earlyDrop) { this.earlyDrop = earlyDrop; }
    public Long getInsertFailed() { return insertFailed; }
    public void setInsertFailed(Long insertFailed) { this.insertFailed = insertFailed; }
    public Long getInvalid() { return invalid; }
    public void setInvalid(Long invalid) { this.invalid = invalid; }
    public Long getTableFullLogLines() { return tableFullLogLines; }
    public void setTableFullLogLines(Long tableFullLogLines) { this.tableFullLogLines = tableFullLogLines; }
    public Double getDropsPerSecond() { return dropsPerSecond; }
    public void setDropsPerSecond(Double dropsPerSecond) { this.dropsPerSecond = dropsPerSecond; }
}
