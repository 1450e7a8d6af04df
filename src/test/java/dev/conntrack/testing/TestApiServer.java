package dev.conntrack.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * One real kube-apiserver + etcd per test JVM (fabric8 kube-api-test in offline mode, binaries
 * from hack/build-test-binaries.sh), with the committed CRDs from crds/ installed. Tests share it
 * and isolate themselves by unique object names.
 */
public final class TestApiServer {
    private static KubeAPIServer server;
    private static String kubeConfigYaml;

    private TestApiServer() {
    }

    public static synchronized String kubeConfigYaml() {
        if (server == null) {
            start();
        }
        return kubeConfigYaml;
    }

    /** A new client for the shared server; callers close it. */
    public static KubernetesClient newClient() {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeConfigYaml())).build();
    }

    /** Creates a Node with labels and, when given, a CPU capacity (what the kubelet would report). */
    public static void registerNode(KubernetesClient client, String name, Map<String, String> labels, String cpu) {
        io.fabric8.kubernetes.api.model.Node node = client.nodes().resource(new io.fabric8.kubernetes.api.model.NodeBuilder()
                .withNewMetadata().withName(name).addToLabels(labels).endMetadata().build()).create();
        if (cpu != null) {
            node.setStatus(new io.fabric8.kubernetes.api.model.NodeStatusBuilder()
                    .addToCapacity("cpu", new io.fabric8.kubernetes.api.model.Quantity(cpu)).build());
            client.nodes().resource(node).updateStatus();
        }
    }

    /**
     * The end of an end-to-end test: stops PROCESSES in the order given (agents before the
     * operator), then deletes the test's POLICY and NODE and closes CLIENT. Null arguments are
     * skipped, so a half-started test cleans up what it started.
     */
    public static void stopAndDelete(KubernetesClient client, String policy, String node, RoleProcess... processes) {
        for (RoleProcess process : processes) {
            if (process != null) {
                process.close();
            }
        }
        if (client != null) {
            client.resources(dev.conntrack.api.ConntrackPolicy.class).withName(policy).delete();
            client.nodes().withName(node).delete();
            client.close();
        }
    }

    /** Writes the kubeconfig to a file, for processes started by tests. */
    public static Path kubeConfigFile(Path dir) {
        try {
            Path file = dir.resolve("kubeconfig");
            Files.writeString(file, kubeConfigYaml());
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public static Path projectDir() {
        return Path.of(System.getProperty("project.basedir", ".")).toAbsolutePath();
    }

    public static String kubernetesVersion() {
        return versionsEnv("KUBERNETES_VERSION");
    }

    /** A version pinned in hack/versions.env. */
    public static String versionsEnv(String name) {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(projectDir().resolve("hack/versions.env"))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty(name).trim();
    }

    private static void start() {
        String dir = System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest");
        String version = kubernetesVersion();
        Path binaries = Path.of(dir, "k8s", version + "-linux-amd64");
        if (!Files.isExecutable(binaries.resolve("kube-apiserver"))) {
            throw new IllegalStateException("No test cluster binaries in " + binaries
                    + ": run hack/build-test-binaries.sh (the test command does it for you)");
        }
        // Environment variables of kube-api-test throw ClassCastException for booleans (7.5.x): set in code.
        server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(dir)
                .withApiServerVersion(version)
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withStartupTimeout(120_000)
                .build());
        server.start();
        kubeConfigYaml = server.getKubeConfigYaml();
        Runtime.getRuntime().addShutdownHook(new Thread(server::stop, "kube-api-test-stop"));
        try (KubernetesClient client = newClient()) {
            installCrds(client);
            installChartRbac(client);
        }
    }

    /** Namespace the chart's service accounts live in during tests. */
    public static final String NAMESPACE = "conntrack-system";
    public static final String OPERATOR_USER = "system:serviceaccount:" + NAMESPACE + ":conntrack-operator";
    public static final String AGENT_USER = "system:serviceaccount:" + NAMESPACE + ":conntrack-agent";

    /** A client that acts as the given user (impersonation), e.g. a chart's service account. */
    public static KubernetesClient newClientAs(String user) {
        Config config = Config.fromKubeconfig(kubeConfigYaml());
        config.setImpersonateUsername(user);
        return new KubernetesClientBuilder().withConfig(config).build();
    }

    /**
     * Applies the service accounts and RBAC that the Helm chart renders, so tests can run the
     * operator and the agent as their real identities (impersonation) and prove the rules suffice.
     */
    private static void installChartRbac(KubernetesClient client) {
        client.namespaces().resource(new io.fabric8.kubernetes.api.model.NamespaceBuilder()
                .withNewMetadata().withName(NAMESPACE).endMetadata().build()).serverSideApply();
        String rendered = helm("template", "conntrack-operator", projectDir().resolve("helm/conntrack-operator").toString(),
                "--namespace", NAMESPACE, "--kube-version", kubernetesVersion(), "--skip-crds",
                "--show-only", "templates/operator-rbac.yaml", "--show-only", "templates/agent-rbac.yaml");
        for (HasMetadata item : client.load(new java.io.ByteArrayInputStream(rendered.getBytes(java.nio.charset.StandardCharsets.UTF_8))).items()) {
            client.resource(item).forceConflicts().serverSideApply();
        }
    }

    /** Runs the helm binary that hack/build-test-binaries.sh builds; returns its standard output. */
    public static String helm(String... args) {
        Run run = run(binariesDir().resolve("bin").resolve("helm"), Map.of(), args);
        if (run.exitCode() != 0) {
            throw new IllegalStateException("helm " + String.join(" ", args) + " failed (exit " + run.exitCode() + "): " + run.stderr());
        }
        return run.stdout();
    }

    /** Runs helm expecting it to fail; returns what it wrote to standard error. */
    public static String helmFailure(String... args) {
        Run run = run(binariesDir().resolve("bin").resolve("helm"), Map.of(), args);
        if (run.exitCode() == 0) {
            throw new AssertionError("helm " + String.join(" ", args) + " succeeded, expected a failure; output:\n" + run.stdout());
        }
        return run.stderr();
    }

    /** Runs the test cluster's kubectl with KUBECONFIG; returns its standard output. */
    public static String kubectl(Path kubeconfig, String... args) {
        Run run = run(binariesDir().resolve("k8s").resolve(kubernetesVersion() + "-linux-amd64").resolve("kubectl"),
                Map.of("KUBECONFIG", kubeconfig.toString()), args);
        if (run.exitCode() != 0) {
            throw new IllegalStateException("kubectl " + String.join(" ", args) + " failed (exit " + run.exitCode() + "): " + run.stderr());
        }
        return run.stdout();
    }

    private static Path binariesDir() {
        return Path.of(System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest"));
    }

    private record Run(int exitCode, String stdout, String stderr) {
    }

    private static Run run(Path binary, Map<String, String> env, String... args) {
        List<String> command = new java.util.ArrayList<>();
        command.add(binary.toString());
        command.addAll(List.of(args));
        try {
            Path errors = Files.createTempFile("stderr", ".txt");
            try {
                ProcessBuilder builder = new ProcessBuilder(command).redirectError(errors.toFile());
                builder.environment().putAll(env);
                Process p = builder.start();
                String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                int code = p.waitFor();
                return new Run(code, out, Files.readString(errors));
            } finally {
                Files.deleteIfExists(errors);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Installs the committed CRDs (crds/*.yaml) and waits until they are established. */
    public static void installCrds(KubernetesClient client) {
        for (Path file : committedCrdFiles()) {
            try (InputStream in = Files.newInputStream(file)) {
                List<HasMetadata> items = client.load(in).items();
                for (HasMetadata item : items) {
                    client.resource(item).forceConflicts().serverSideApply();
                    client.apiextensions().v1().customResourceDefinitions().withName(item.getMetadata().getName())
                            .waitUntilCondition(TestApiServer::established, 60, TimeUnit.SECONDS);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static List<Path> committedCrdFiles() {
        try (Stream<Path> files = Files.list(projectDir().resolve("crds"))) {
            return files.filter(f -> f.toString().endsWith(".yaml")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static boolean established(CustomResourceDefinition crd) {
        return crd != null && crd.getStatus() != null && crd.getStatus().getConditions() != null
                && crd.getStatus().getConditions().stream()
                        .anyMatch(c -> "Established".equals(c.getType()) && "True".equals(c.getStatus()));
    }
}
