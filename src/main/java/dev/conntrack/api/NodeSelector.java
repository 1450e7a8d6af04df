package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorRequirement;
import java.util.List;
import java.util.Map;

/**
 * A standard label selector over Node labels. Declared here rather than reusing the core type so
 * the schema carries bounds (maxItems, maxProperties) that keep the CEL validation cost estimable.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeSelector {
    /** Qualified label key: optional DNS-subdomain prefix and a name of at most 63 characters. */
    static final String LABEL_KEY_PATTERN =
            "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";

    @JsonPropertyDescription("Labels a node must have, all of them (key: value).")
    @Size(max = 64)
    @ValidationRule(value = "self.all(k, k.size() <= 317 && self[k].size() <= 63)",
            message = "nodeSelector.matchLabels keys must be at most 317 and values at most 63 characters")
    private Map<String, String> matchLabels;

    @JsonPropertyDescription("Label requirements a node must meet, all of them.")
    @Size(max = 32)
    private List<NodeSelectorRequirement> matchExpressions;

    public NodeSelector() {
    }

    public NodeSelector(Map<String, String> matchLabels, List<NodeSelectorRequirement> matchExpressions) {
        this.matchLabels = matchLabels;
        this.matchExpressions = matchExpressions;
    }

    /** The same selector as the core Kubernetes type, for matching with standard semantics. */
    public LabelSelector toLabelSelector() {
        List<LabelSelectorRequirement> expressions = matchExpressions == null ? null : matchExpressions.stream()
                .map(r -> new LabelSelectorRequirement(r.getKey(),
                        r.getOperator() == null ? null : r.getOperator().name(), r.getValues()))
                .toList();
        return new LabelSelector(expressions, matchLabels);
    }

    @JsonIgnore
    public boolean isEmpty() {
        return (matchLabels == null || matchLabels.isEmpty()) && (matchExpressions == null || matchExpressions.isEmpty());
    }

    public Map<String, String> getMatchLabels() { return matchLabels; }
    public void setMatchLabels(Map<String, String> matchLabels) { this.matchLabels = matchLabels; }
    public List<NodeSelectorRequirement> getMatchExpressions() { return matchExpressions; }
    public void setMatchExpressions(List<NodeSelectorRequirement> matchExpressions) { this.matchExpressions = matchExpressions; }
}
