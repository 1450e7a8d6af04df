package dev.conntrack.api;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * The conntrack state of one node, named after the Node. The operator writes spec (the merged
 * settings); only that node's agent writes status.
 */
@Group(ConntrackPolicy.GROUP)
@Version(ConntrackPolicy.VERSION)
// Named, not derived: without it every new instance runs fabric8's regex pluralizer (the
// operator builds one per watch event; it was 6% of its CPU in a 2,000-node rollout).
@Plural("conntracknodestates")
@ShortNames("ctns")
@AdditionalPrinterColumn(name = "Entries", jsonPath = ".status.usage.entries", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Max", jsonPath = ".status.usage.max", type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(name = "Usage%", jsonPath = ".status.usage.usagePercent", type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(name = "Applied", jsonPath = ".status.conditions[?(@.type==\"" + NodeConditionTypes.APPLIED + "\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "TableFull", jsonPath = ".status.conditions[?(@.type==\"" + NodeConditionTypes.TABLE_FULL + "\")].status", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Mode", jsonPath = ".spec.mode", type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(name = "Age", jsonPath = ".metadata.creationTimestamp", type = AdditionalPrinterColumn.Type.DATE)
public class ConntrackNodeState extends CustomResource<ConntrackNodeStateSpec, ConntrackNodeStateStatus> {

    @Override
    protected ConntrackNodeStateSpec initSpec() {
        return new ConntrackNodeStateSpec();
    }

    // Overridden only to carry the descriptions that `kubectl explain` shows for spec and status.
    @Override
    @JsonPropertyDescription("Effective settings for this node, written only by the operator after merging every policy that selects it.")
    public ConntrackNodeStateSpec getSpec() {
        return super.getSpec();
    }

    @Override
    @JsonPropertyDescription("What the node's agent applied and observes, written only by that agent.")
    public ConntrackNodeStateStatus getStatus() {
        return super.getStatus();
    }
}
