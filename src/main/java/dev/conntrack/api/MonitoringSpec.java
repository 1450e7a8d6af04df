package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

@JsonInclude(JsonInclude.Include.NON_NULL)
public class MonitoringSpec {

    @JsonPropertyDescription("Table usage (entries / max, in percent) above which the node reports Pressure. Default " + Defaults.USAGE_WARNING_PERCENT + " when no selecting policy sets it.")
    @Min(1)
    @Max(100)
    private Integer usageWarningPercent;

    @JsonPropertyDescription("How often the agent reads the table counters, as a duration (\"1s\", \"500ms\"). Between 100ms and 1m. While usage is at or above the warning percent, or drops rise, the agent reads at least every 200ms.")
    @Size(max = 32)
    @ValidationRule(value = "self.matches('^([0-9]+(\\\\.[0-9]+)?(ns|us|ms|s|m|h))+$') && duration(self) >= duration('100ms') && duration(self) <= duration('1m')",
            message = "monitoring.pollInterval must be a duration such as \"1s\" or \"500ms\", between 100ms and 1m")
    private String pollInterval;

    public Integer getUsageWarningPercent() { return usageWarningPercent; }
    public void setUsageWarningPercent(Integer usageWarningPercent) { this.usageWarningPercent = usageWarningPercent; }
    public String getPollInterval() { return pollInterval; }
    public void setPollInterval(String pollInterval) { this.pollInterval = pollInterval; }
}
