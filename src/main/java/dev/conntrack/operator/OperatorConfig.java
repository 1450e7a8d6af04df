package dev.conntrack.operator;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Operator settings (application.properties, or environment such as CONNTRACK_AGENT_IMAGE). */
@ConfigMapping(prefix = "conntrack")
public interface OperatorConfig {

    Agent agent();

    Rollout rollout();

    LeaderElection leaderElection();

    /**
     * Leader election with a Lease in the operator's namespace (conntrack.agent.namespace), so that
     * several replicas never reconcile at once. The durations are the operator SDK's (and
     * client-go's) defaults: a leader that stops renewing is replaced within about leaseDuration.
     */
    interface LeaderElection {
        @WithDefault("true")
        boolean enabled();

        @WithDefault("conntrack-operator")
        String leaseName();

        @WithDefault("15s")
        Duration leaseDuration();

        @WithDefault("10s")
        Duration renewDeadline();

        @WithDefault("2s")
        Duration retryPeriod();
    }

    interface Rollout {
        /**
         * How long a policy's new generation (or its deletion) must have been known before any node
         * moves towards enforcing because of it, so that policies applied together (one kubectl
         * apply of an audit and an Enforce policy) are judged together. Moves towards observing
         * never wait. docs/rollout-and-fleet.md "Audits and the settle window".
         */
        @WithDefault("2s")
        Duration settle();
    }

    interface Agent {
        /** Whether the operator manages the agent DaemonSet (off when agents are run by other means). */
        @WithDefault("true")
        boolean manageDaemonSet();

        /** Namespace of the agent DaemonSet: the operator's own namespace. */
        @WithDefault("conntrack-system")
        String namespace();

        @WithDefault("conntrack-operator:0.1.0")
        String image();

        @WithDefault("IfNotPresent")
        String imagePullPolicy();

        @WithDefault("conntrack-agent")
        String serviceAccountName();

        @WithDefault("system-node-critical")
        String priorityClassName();

        /** Node labels the agent pods are limited to, as a JSON object (default: every node). */
        Optional<String> nodeSelectorJson();

        /** Tolerations as a JSON list; default tolerates every taint. */
        Optional<String> tolerationsJson();

        @WithDefault("/var/lib/conntrack-operator")
        String stateDir();

        @WithDefault("9402")
        int metricsPort();

        @WithDefault(AgentDaemonSetSettings.DEFAULT_CPU_REQUEST)
        String cpuRequest();

        @WithDefault(AgentDaemonSetSettings.DEFAULT_MEMORY_REQUEST)
        String memoryRequest();

        @WithDefault(AgentDaemonSetSettings.DEFAULT_MEMORY_LIMIT)
        String memoryLimit();

        Optional<String> javaOpts();
    }
}
