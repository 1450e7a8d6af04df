package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** One of the few worst nodes of a policy, by drops then usage. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeSummary {
    @JsonPropertyDescription("Node name.")
    private String name;

    @JsonPropertyDescription("Table usage in percent (entries / max).")
    private Double usagePercent;

    @JsonPropertyDescription("Entries in the table.")
    private Long entries;

    @JsonPropertyDescription("nf_conntrack_max on the node.")
    private Long max;

    @JsonPropertyDescription("Packets dropped per second because the table was full, over the last interval.")
    private Double dropsPerSecond;

    @JsonPropertyDescription("Packets dropped because the table was full since the agent started watching.")
    private Long drops;

    @JsonPropertyDescription("Why the node is listed: TableFull, Pressure, Degraded or NotApplied.")
    private String reason;

    public String getName() { return name; }
    public void setName(String name) { this.name = name; }
    public Double getUsagePercent() { return usagePercent; }
    public void setUsagePercent(Double usagePercent) { this.usagePercent = usagePercent; }
    public Long getEntries() { return entries; }
    public void setEntries(Long entries) { this.entries = entries; }
    public Long getMax() { return max; }
    public void setMax(Long max) { this.max = max; }
    public Double getDropsPerSecond() { return dropsPerSecond; }
    public void setDropsPerSecond(Double dropsPerSecond) { this.dropsPerSecond = dropsPerSecond; }
    public Long getDrops() { return drops; }
    public void setDrops(Long drops) { this.drops = drops; }
    public String getReason() { return reason; }
    public void setReason(String reason) { this.reason = reason; }
}
