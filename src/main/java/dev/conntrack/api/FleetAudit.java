package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * ObserveOnly as a fleet audit: how many selected nodes Enforce would change, and what those nodes
 * run today. Counts and three spreads: the same size at 5 or 5,000 nodes.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class FleetAudit {
    @JsonPropertyDescription("Selected nodes whose agent reported the node state's current generation, carrying this policy's current generation.")
    private int reportedNodes;

    @JsonPropertyDescription("Of those, nodes where Enforce would change at least one value (status.pending not empty).")
    private int wouldChangeNodes;

    @JsonPropertyDescription("Of the reported nodes, those whose kernel holds values the agent wrote earlier, under Enforce (status.originals not empty): they are not as they were before the operator, even where Enforce would change nothing more.")
    private int changedEarlierNodes;

    @JsonPropertyDescription("nf_conntrack_max today on the nodes that would change (status.current.max).")
    private ValueSpread max;

    @JsonPropertyDescription("Hash buckets today on the nodes that would change (status.usage.buckets).")
    private ValueSpread buckets;

    @JsonPropertyDescription("Table usage in whole percent today on the nodes that would change (status.usage.usagePercent, rounded).")
    private ValueSpread usagePercent;

    public int getReportedNodes() { return reportedNodes; }
    public void setReportedNodes(int reportedNodes) { this.reportedNodes = reportedNodes; }
    public int getWouldChangeNodes() { return wouldChangeNodes; }
    public void setWouldChangeNodes(int wouldChangeNodes) { this.wouldChangeNodes = wouldChangeNodes; }
    public int getChangedEarlierNodes() { return changedEarlierNodes; }
    public void setChangedEarlierNodes(int changedEarlierNodes) { this.changedEarlierNodes = changedEarlierNodes; }
    public ValueSpread getMax() { return max; }
    public void setMax(ValueSpread max) { this.max = max; }
    public ValueSpread getBuckets() { return buckets; }
    public void setBuckets(ValueSpread buckets) { this.buckets = buckets; }
    public ValueSpread getUsagePercent() { return usagePercent; }
    public void setUsagePercent(ValueSpread usagePercent) { this.usagePercent = usagePercent; }
}
