package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** Observed state of a ConntrackPolicy, rolled up by the operator from its nodes' states. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConntrackPolicyStatus {
    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("Ready, Progressing, Degraded and Conflict, with CamelCase reasons; lastTransitionTime changes only when a status flips.")
    private List<Condition> conditions = new ArrayList<>();

    @JsonPropertyDescription("Counts of selected nodes by state.")
    private NodeCounts nodes;

    @JsonPropertyDescription("The few worst nodes (at most 5) by drops, then usage.")
    private List<NodeSummary> worstNodes;

    @JsonPropertyDescription("Progress of the batched rollout of the current generation.")
    private RolloutStatus rollout;

    @JsonPropertyDescription("ObserveOnly policies only: how many nodes Enforce would change and the spread of their current values.")
    private FleetAudit audit;

    public Long getObservedGeneration() { return observedGeneration; }
    public void setObservedGeneration(Long observedGeneration) { this.observedGeneration = observedGeneration; }
    public List<Condition> getConditions() { return conditions; }
    public void setConditions(List<Condition> conditions) { this.conditions = conditions; }
    public NodeCounts getNodes() { return nodes; }
    public void setNodes(NodeCounts nodes) { this.nodes = nodes; }
    public List<NodeSummary> getWorstNodes() { return worstNodes; }
    public void setWorstNodes(List<NodeSummary> worstNodes) { this.worstNodes = worstNodes; }
    public RolloutStatus getRollout() { return rollout; }
    public void setRollout(RolloutStatus rollout) { this.rollout = rollout; }
    public FleetAudit getAudit() { return audit; }
    public void setAudit(FleetAudit audit) { this.audit = audit; }
}
