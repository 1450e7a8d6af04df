package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/**
 * Lets the agent raise nf_conntrack_max (and buckets) by itself, at once and locally, when usage
 * climbs or drops appear, within a ceiling and a memory budget.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
@ValidationRule(value = "!self.enabled || has(self.ceiling) || has(self.memoryBudget)",
        message = "conntrack.autoscale needs a ceiling or a memoryBudget when enabled: the agent never raises without a bound")
public class AutoscaleSpec {

    @JsonPropertyDescription("Turns auto-raise on for the selected nodes.")
    @Default("false")
    private Boolean enabled;

    @JsonPropertyDescription("Usage (entries / max, percent) at which the agent raises max. Default " + Defaults.HIGH_WATERMARK_PERCENT + ". The agent also raises earlier when the measured growth would reach it within 20 ms, and keeps at least 2500 entries free below it (what a connection storm fills in 10 ms).")
    @Min(10)
    @Max(99)
    private Integer highWatermarkPercent;

    @JsonPropertyDescription("The largest nf_conntrack_max the agent may set.")
    @Min(1)
    @Max(2147483647)
    private Integer ceiling;

    @JsonPropertyDescription("Upper bound of the table's kernel memory (max x conntrack object size + buckets x 16 bytes), as a quantity such as 256Mi.")
    @Size(max = 32)
    @ValidationRule(value = "isQuantity(self) && quantity(self).isGreaterThan(quantity('0'))",
            message = "conntrack.autoscale.memoryBudget must be a positive quantity such as \"256Mi\"")
    private String memoryBudget;

    @JsonPropertyDescription("Factor by which each raise multiplies max, 1.1 to 16. Default " + (int) Defaults.STEP + ".")
    @Min(1.1)
    @Max(16)
    private Double step;

    @Override
    public boolean equals(Object o) {
        return o instanceof AutoscaleSpec a && java.util.Objects.equals(enabled, a.enabled)
                && java.util.Objects.equals(highWatermarkPercent, a.highWatermarkPercent)
                && java.util.Objects.equals(ceiling, a.ceiling) && java.util.Objects.equals(memoryBudget, a.memoryBudget)
                && java.util.Objects.equals(step, a.step);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(enabled, highWatermarkPercent, ceiling, memoryBudget, step);
    }

    public Boolean getEnabled() { return enabled; }
    public void setEnabled(Boolean enabled) { this.enabled = enabled; }
    public Integer getHighWatermarkPercent() { return highWatermarkPercent; }
    public void setHighWatermarkPercent(Integer highWatermarkPercent) { this.highWatermarkPercent = highWatermarkPercent; }
    public Integer getCeiling() { return ceiling; }
    public void setCeiling(Integer ceiling) { this.ceiling = ceiling; }
    public String getMemoryBudget() { return memoryBudget; }
    public void setMemoryBudget(String memoryBudget) { this.memoryBudget = memoryBudget; }
    public Double getStep() { return step; }
    public void setStep(Double step) { this.step = step; }
}
