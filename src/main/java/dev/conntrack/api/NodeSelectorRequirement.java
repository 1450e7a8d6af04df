package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;
import java.util.List;

/** One label requirement of a node selector. */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
        message = "nodeSelector.matchExpressions[].values must be non-empty for In and NotIn and absent for Exists and DoesNotExist")
public class NodeSelectorRequirement {

    @JsonPropertyDescription("The label key, e.g. node-role.kubernetes.io/ingress.")
    @Required
    @Size(min = 1, max = 317)
    @Pattern(NodeSelector.LABEL_KEY_PATTERN)
    private String key;

    @JsonPropertyDescription("In, NotIn, Exists or DoesNotExist.")
    @Required
    private NodeSelectorOperator operator;

    @JsonPropertyDescription("Label values for In and NotIn; must be absent for Exists and DoesNotExist.")
    @Size(max = 64)
    private List<String> values;

    public NodeSelectorRequirement() {
    }

    public NodeSelectorRequirement(String key, NodeSelectorOperator operator, List<String> values) {
        this.key = key;
        this.operator = operator;
        this.values = values;
    }

    public String getKey() { return key; }
    public void setKey(String key) { this.key = key; }
    public NodeSelectorOperator getOperator() { return operator; }
    public void setOperator(NodeSelectorOperator operator) { this.operator = operator; }
    public List<String> getValues() { return values; }
    public void setValues(List<String> values) { this.values = values; }
}
