package dev.conntrack.agent;

import dev.conntrack.kernel.AgentLock;
import dev.conntrack.kernel.HostPaths;
import dev.conntrack.agent.kube.ApiServerConfig;
import dev.conntrack.agent.kube.KubeClient;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.logging.Logger;

/**
 * Entry point of the agent role. Deliberately plain Java: no Quarkus boot, no CDI, no fabric8
 * client: its own small HTTP/1.1 API client for the four calls it makes, and the Prometheus
 * client's exporter on the JDK's HTTP server for metrics and probes, so that the process that runs
 * on every node stays small.
 */
public final class AgentMain {
    private static final Logger LOG = Logger.getLogger(AgentMain.class.getName());

    private AgentMain() {
    }

    public static void main(String... args) {
        logToStderr();
        exitOnUncaughtErrors();
        AgentConfig config;
        try {
            config = AgentConfig.fromEnvironment(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("conntrack agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        Clock clock = Clock.systemUTC();
        AgentLock lock;
        try {
            lock = AgentLock.acquire(config.stateDir(), config.nodeName(), "pid " + ProcessHandle.current().pid() + " on "
                    + hostname() + ", agent " + config.version() + ", started " + clock.instant());
        } catch (IllegalStateException | IOException e) {
            // Two agents for one node would fight over its kernel and its originals: refuse to start.
            System.err.println("conntrack agent: " + e.getMessage());
            System.exit(2);
            return;
        }
        KubeClient client;
        try {
            client = client();
        } catch (RuntimeException e) {
            // A missing token or CA is a broken pod spec: say so and exit instead of looping.
            System.err.println("conntrack agent: API server access not configured: " + e.getMessage());
            System.exit(2);
            return;
        }
        AgentMetrics metrics = new AgentMetrics(new PrometheusRegistry());
        NodeAgent agent = new NodeAgent(config, new HostPaths(config.hostRoot()), metrics, client, clock);
        AgentEndpoints server = startEndpoints(config, metrics, agent.health());
        agent.start();
        LOG.info("conntrack agent " + config.version() + " for node " + config.nodeName() + " (host root "
                + config.hostRoot() + ", API server " + client.config() + ", originals in " + config.originalsFile() + ", metrics on "
                + (server.metricsPort() == 0 ? "no port" : ":" + server.metricsPort()) + ", probes on "
                + (server.probePort() == 0 ? "no port" : "127.0.0.1:" + server.probePort()) + ")"
                + (config.forceObserveOnly() ? "; observe-only: the kernel is never written" : ""));

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            // Stopping never restores: the settings stay as the node's policy wants them.
            agent.close();
            server.close();
            client.close();
            try {
                lock.close();
            } catch (IOException e) {
                LOG.warning("cannot release the agent lock: " + e.getMessage());
            }
            stopped.countDown();
        }, "conntrack-agent-stop"));
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String hostname() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown host";
        }
    }

    /**
     * The runner jar installs the JBoss log manager, which Quarkus would configure; the agent does
     * not boot Quarkus, so it gives the root logger a plain one-line stderr handler itself.
     */
    private static void logToStderr() {
        System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tLZ %4$s [%3$s] %5$s%6$s%n");
        java.util.logging.Logger root = java.util.logging.Logger.getLogger("");
        // Quarkus's delayed handler would queue records until a Quarkus boot that never comes.
        for (java.util.logging.Handler h : root.getHandlers()) {
            root.removeHandler(h);
        }
        java.util.logging.ConsoleHandler handler = new java.util.logging.ConsoleHandler();
        handler.setFormatter(new java.util.logging.SimpleFormatter());
        root.addHandler(handler);
        root.setLevel(java.util.logging.Level.INFO);
    }

    /**
     * An error no thread handles (OutOfMemoryError, a missing class) ends the agent with exit code
     * 70: a process whose poll or watch thread died must not go on answering probes and writing
     * heartbeats. The kubelet restarts it.
     */
    static void exitOnUncaughtErrors() {
        Thread.setDefaultUncaughtExceptionHandler((thread, error) -> {
            LOG.log(java.util.logging.Level.SEVERE, "uncaught in " + thread.getName() + "; exiting", error);
            Runtime.getRuntime().halt(70);
        });
    }

    /** In-cluster, kubeconfig or environment, with short timeouts so an unreachable API server is noticed quickly. */
    static KubeClient client() {
        return new KubeClient(ApiServerConfig.fromEnvironment(System.getenv()), Duration.ofSeconds(3), Duration.ofSeconds(5));
    }

    private static AgentEndpoints startEndpoints(AgentConfig config, AgentMetrics metrics, AgentHealth health) {
        return AgentEndpoints.start(config.metricsPort(), config.probePort(), metrics.registry(), health);
    }
}
