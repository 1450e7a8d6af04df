package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** Smallest, median (the lower one for an even count) and largest of one value across nodes. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class ValueSpread {
    @JsonPropertyDescription("Smallest value.")
    private Long min;

    @JsonPropertyDescription("Median value (the lower middle one for an even number of nodes).")
    private Long median;

    @JsonPropertyDescription("Largest value.")
    private Long max;

    public ValueSpread() {
    }

    public ValueSpread(Long min, Long median, Long max) {
        this.min = min;
        this.median = median;
        this.max = max;
    }

    public Long getMin() { return min; }
    public void setMin(Long min) { this.min = min; }
    public Long getMedian() { return median; }
    public void setMedian(Long median) { this.median = median; }
    public Long getMax() { return max; }
    public void setMax(Long max) { this.max = max; }
}
