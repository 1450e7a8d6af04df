package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import java.util.List;
import java.util.Map;

/** Effective settings for one node, written only by the operator after merging every policy that selects the node. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConntrackNodeStateSpec {
    /** The most policies one node can be built from (bounds policySnapshots for the API server's CEL cost estimate). */
    public static final int MAX_POLICIES = 128;

    @JsonPropertyDescription("Merged settings: the same fields as a policy's conntrack, with maxPerCore already turned into an absolute max for this node's CPU count.")
    private ConntrackSettings conntrack;

    @JsonPropertyDescription("Enforce or ObserveOnly, from the highest-priority policy.")
    private Mode mode;

    @JsonPropertyDescription("Reapply or Report, from the highest-priority policy.")
    private DriftPolicy driftPolicy;

    @JsonPropertyDescription("Monitoring settings, merged field by field like conntrack.")
    private MonitoringSpec monitoring;

    @JsonPropertyDescription("Every policy that selects this node, highest precedence first.")
    private List<String> policies;

    @JsonPropertyDescription("metadata.generation of each selecting policy this spec was computed from; a node counts as having applied a policy only when this matches the policy's current generation.")
    private Map<String, Long> policyGenerations;

    // Kept here, per node, rather than in the policy status: each node carries exactly the version
    // it was built from, whatever edits interleave with a rollout, and the policy status stays
    // small at any fleet size. Bounded so the API server can bound the cost of the CEL rules inside.
    @JsonPropertyDescription("For each selecting policy, the generation and settings this spec was built from. While a rollout has not reached this node, it keeps being built from these instead of the policy's newest settings.")
    @Size(max = MAX_POLICIES)
    private Map<String, PolicySnapshot> policySnapshots;

    @JsonPropertyDescription("For each set field (e.g. conntrack.max), the policy it came from.")
    private Map<String, String> sources;

    @JsonPropertyDescription("Fields where policies of equal priority disagree.")
    private List<ConflictNote> conflicts;

    @JsonPropertyDescription("Settings that could not be resolved for this node, e.g. maxPerCore without a CPU capacity on the Node.")
    private List<String> warnings;

    public ConntrackSettings getConntrack() { return conntrack; }
    public void setConntrack(ConntrackSettings conntrack) { this.conntrack = conntrack; }
    public Mode getMode() { return mode; }
    public void setMode(Mode mode) { this.mode = mode; }
    public DriftPolicy getDriftPolicy() { return driftPolicy; }
    public void setDriftPolicy(DriftPolicy driftPolicy) { this.driftPolicy = driftPolicy; }
    public MonitoringSpec getMonitoring() { return monitoring; }
    public void setMonitoring(MonitoringSpec monitoring) { this.monitoring = monitoring; }
    public List<String> getPolicies() { return policies; }
    public void setPolicies(List<String> policies) { this.policies = policies; }
    public Map<String, Long> getPolicyGenerations() { return policyGenerations; }
    public void setPolicyGenerations(Map<String, Long> policyGenerations) { this.policyGenerations = policyGenerations; }
    public Map<String, PolicySnapshot> getPolicySnapshots() { return policySnapshots; }
    public void setPolicySnapshots(Map<String, PolicySnapshot> policySnapshots) { this.policySnapshots = policySnapshots; }
    public Map<String, String> getSources() { return sources; }
    public void setSources(Map<String, String> sources) { this.sources = sources; }
    public List<ConflictNote> getConflicts() { return conflicts; }
    public void setConflicts(List<ConflictNote> conflicts) { this.conflicts = conflicts; }
    public List<String> getWarnings() { return warnings; }
    public void setWarnings(List<String> warnings) { this.warnings = warnings; }
}
