package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.List;

/** Two or more policies of equal priority that set one field of a node to different values. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ConflictNote {
    @JsonPropertyDescription("The conflicting field, e.g. conntrack.max or mode.")
    private String field;

    @JsonPropertyDescription("The policies of equal priority that disagree, the winner first (alphabetical order decides).")
    private List<String> policies;

    @JsonPropertyDescription("The policy whose value was taken.")
    private String winner;

    public String getField() { return field; }
    public void setField(String field) { this.field = field; }
    public List<String> getPolicies() { return policies; }
    public void setPolicies(List<String> policies) { this.policies = policies; }
    public String getWinner() { return winner; }
    public void setWinner(String winner) { this.winner = winner; }
}
