package dev.conntrack.agent.core;

import dev.conntrack.api.ConntrackNodeStateStatus;
import dev.conntrack.api.DropCounters;
import dev.conntrack.api.TableUsage;
import dev.conntrack.kernel.TableMemory;
import dev.conntrack.kernel.TableSnapshot;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;

/** The node state status of one poll, from what it read and what the enforcer did. Pure. */
final class StatusBuilder {
    private StatusBuilder() {
    }

    static ConntrackNodeStateStatus status(Long generation, List<Condition> conditions, ApplyReport report, NodeSample sample,
            DropRate rate, OptionalInt objectSize) {
        ConntrackNodeStateStatus status = new ConntrackNodeStateStatus();
        status.setObservedGeneration(generation);
        status.setConditions(conditions);
        TableSnapshot table = sample.table();
        TableUsage usage = new TableUsage();
        table.count().ifPresent(usage::setEntries);
        table.max().ifPresent(usage::setMax);
        table.buckets().ifPresent(usage::setBuckets);
        sample.poll().usagePercent().ifPresent(p -> usage.setUsagePercent(Math.round(p * 10) / 10.0));
        if (table.max().isPresent() && table.buckets().isPresent()) {
            usage.setEstimatedMemoryBytes(TableMemory.estimate(table.max().getAsLong(), table.buckets().getAsLong(), objectSize));
        }
        status.setUsage(usage);
        DropCounters counters = new DropCounters();
        sample.reading().stats().ifPresent(s -> {
            s.drop().ifPresent(counters::setDrop);
            s.earlyDrop().ifPresent(counters::setEarlyDrop);
            s.insertFailed().ifPresent(counters::setInsertFailed);
            s.invalid().ifPresent(counters::setInvalid);
        });
        counters.setTableFullLogLines(sample.log().tableFullIncludingSuppressed());
        NodeSample.Namespaces namespaces = sample.namespaces();
        counters.setDropAllNamespaces(namespaces.allDrops() != null ? namespaces.allDrops() : counters.getDrop());
        status.setNamespaces(namespaces.summaries());
        rate.dropsPerSecond().ifPresent(r -> counters.setDropsPerSecond(Math.round(r * 10) / 10.0));
        status.setCounters(counters);
        status.setCurrent(report.current().isEmpty() ? null : report.current());
        status.setOriginals(report.originals().isEmpty() ? null : report.originals());
        status.setPending(report.pending().isEmpty() ? null : report.pending());
        List<String> unavailable = new ArrayList<>(table.unavailable());
        unavailable.addAll(sample.reading().unavailable());
        sample.logUnavailable().ifPresent(unavailable::add);
        status.setUnavailableSignals(unavailable.isEmpty() ? null : unavailable);
        return status;
    }
}
