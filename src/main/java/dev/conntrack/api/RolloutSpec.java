package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.IntOrString;

/**
 * How a new generation of a policy reaches its nodes: in batches of at most maxUnavailable nodes
 * "in flight" (given the new settings, not yet reported Applied), stopping when a node of the
 * batch turns Degraded or starts dropping. Defaults live in the schema only (see ConntrackPolicySpec).
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class RolloutSpec {
    public static final String DEFAULT_MAX_UNAVAILABLE = "10%";
    public static final String MAX_UNAVAILABLE_MESSAGE =
            "rollout.maxUnavailable must be a number of nodes (at least 1) or a percentage from 1% to 100% such as \"10%\"";

    @JsonPropertyDescription("How many selected nodes may be in flight at once (given this generation's settings but not yet reported Applied): a number of nodes, or a percentage of the selected nodes rounded up (\"10%\"). \"100%\" turns batching off. Default 10%.")
    @Default(DEFAULT_MAX_UNAVAILABLE)
    @ValidationRule(value = "type(self) == int ? self >= 1 : self.matches('^(100|[1-9][0-9]?)%$')",
            message = MAX_UNAVAILABLE_MESSAGE)
    private IntOrString maxUnavailable;

    @JsonPropertyDescription("Stop the rollout when a node that took the new settings turns Degraded or starts dropping packets (TableFull) afterwards; resume by setting the annotation conntrack.dev/resume-rollout to a new value. Default true.")
    @Default("true")
    private Boolean pauseOnDegraded;

    public IntOrString getMaxUnavailable() { return maxUnavailable; }
    public void setMaxUnavailable(IntOrString maxUnavailable) { this.maxUnavailable = maxUnavailable; }
    public Boolean getPauseOnDegraded() { return pauseOnDegraded; }
    public void setPauseOnDegraded(Boolean pauseOnDegraded) { this.pauseOnDegraded = pauseOnDegraded; }
}
