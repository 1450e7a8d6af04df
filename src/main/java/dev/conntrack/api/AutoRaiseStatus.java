package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What the agent's auto-raise did on this node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class AutoRaiseStatus {
    @JsonPropertyDescription("nf_conntrack_max the agent raised the table to (it takes precedence over a smaller spec max while autoscale is on).")
    private Long max;

    @JsonPropertyDescription("Buckets the agent raised the hash table to, when it did.")
    private Long buckets;

    @JsonPropertyDescription("How many times the agent raised the limits since it started.")
    private Long raises;

    @JsonPropertyDescription("When the agent last raised the limits (RFC 3339).")
    private String lastRaiseTime;

    @JsonPropertyDescription("Ceiling or MemoryBudget when that bound stops further raises.")
    private String limitedBy;

    @JsonPropertyDescription("The last raise or why the agent could not raise.")
    private String message;

    public Long getMax() { return max; }
    public void setMax(Long max) { this.max = max; }
    public Long getBuckets() { return buckets; }
    public void setBuckets(Long buckets) { this.buckets = buckets; }
    public Long getRaises() { return raises; }
    public void setRaises(Long raises) { this.raises = raises; }
    public String getLastRaiseTime() { return lastRaiseTime; }
    public void setLastRaiseTime(String lastRaiseTime) { this.lastRaiseTime = lastRaiseTime; }
    public String getLimitedBy() { return limitedBy; }
    public void setLimitedBy(String limitedBy) { this.limitedBy = limitedBy; }
    public String getMessage() { return message; }
    public void setMessage(String message) { this.message = message; }
}
