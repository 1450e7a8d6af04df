package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The conntrack table as the agent read it on its last poll. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class TableUsage {
    @JsonPropertyDescription("Entries in the busiest conntrack table of the node: its own (nf_conntrack_count) or, when fuller, a pod or NAT namespace's (each namespace has its own table under the one global max).")
    private Long entries;

    @JsonPropertyDescription("nf_conntrack_max.")
    private Long max;

    @JsonPropertyDescription("nf_conntrack_buckets.")
    private Long buckets;

    @JsonPropertyDescription("entries / max in percent.")
    private Double usagePercent;

    @JsonPropertyDescription("Upper bound of the table's kernel memory: max x conntrack object size + buckets x 16 bytes.")
    private Long estimatedMemoryBytes;

    public Long getEntries() { return entries; }
    public void setEntries(Long entries) { this.entries = entries; }
    public Long getMax() { return max; }
    public void setMax(Long max) { this.max = max; }
    public Long getBuckets() { return buckets; }
    public void setBuckets(Long buckets) { this.buckets = buckets; }
    public Double getUsagePercent() { return usagePercent; }
    public void setUsagePercent(Double usagePercent) { this.usagePercent = usagePercent; }
    public Long getEstimatedMemoryBytes() { return estimatedMemoryBytes; }
    public void setEstimatedMemoryBytes(Long estimatedMemoryBytes) { this.estimatedMemoryBytes = estimatedMemoryBytes; }
}
