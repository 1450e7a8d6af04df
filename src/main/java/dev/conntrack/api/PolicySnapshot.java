package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/**
 * The part of one policy a node state spec was built from, at one generation. Kept per policy in
 * the node state spec so that, while a rollout has not reached this node yet, the operator can keep
 * building the node's spec from the settings it already has (the policy object only holds the
 * newest ones).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class PolicySnapshot {
    @JsonPropertyDescription("The policy's metadata.generation these settings are from.")
    private Long generation;

    @JsonPropertyDescription("When this node took this generation (RFC 3339); a node turning Degraded or TableFull after it pauses the rollout.")
    private String since;

    @JsonPropertyDescription("The policy's priority at that generation.")
    private Integer priority;

    @JsonPropertyDescription("The policy's mode at that generation.")
    private Mode mode;

    @JsonPropertyDescription("The policy's driftPolicy at that generation.")
    private DriftPolicy driftPolicy;

    @JsonPropertyDescription("The policy's conntrack settings at that generation, as written in the policy (maxPerCore not resolved).")
    private ConntrackSettings conntrack;

    @JsonPropertyDescription("The policy's monitoring settings at that generation.")
    private MonitoringSpec monitoring;

    public Long getGeneration() { return generation; }
    public void setGeneration(Long generation) { this.generation = generation; }
    public String getSince() { return since; }
    public void setSince(String since) { this.since = since; }
    public Integer getPriority() { return priority; }
    public void setPriority(Integer priority) { this.priority = priority; }
    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public DriftPolicy getDriftPolicy() { return driftPolicy; }
    public void setDriftPolicy(DriftPolicy driftPolicy) { this.driftPolicy = driftPolicy; }
    public ConntrackSettings getConntrack() { return conntrack; }
    public void setConntrack(ConntrackSettings conntrack) { this.conntrack = conntrack; }
    public MonitoringSpec getMonitoring() { return monitoring; }
    public void setMonitoring(MonitoringSpec monitoring) { this.monitoring = monitoring; }
}
