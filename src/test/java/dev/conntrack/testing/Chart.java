package dev.conntrack.testing;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** The Helm chart under helm/conntrack-operator, rendered or installed with the test helm binary. */
public final class Chart {
    public static final String CHART_NAME = "conntrack-operator";

    private Chart() {
    }

    public static Path dir() {
        return TestApiServer.projectDir().resolve("helm/" + CHART_NAME);
    }

    /** Every option on: src/test/resources/helm/all-options-values.yaml. */
    public static Path allOptionsValues() {
        return TestApiServer.projectDir().resolve("src/test/resources/helm/all-options-values.yaml");
    }

    /** What the test cluster serves that the chart asks Helm about (as Argo CD passes the cluster's own). */
    public static final String VALIDATING_ADMISSION_POLICY = "admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy";

    /** helm template, for the test cluster's Kubernetes version and API; returns the rendered YAML. */
    public static String template(String release, String namespace, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("template", release, dir().toString(), "--namespace", namespace,
                "--kube-version", TestApiServer.kubernetesVersion(), "--api-versions", VALIDATING_ADMISSION_POLICY));
        args.addAll(List.of(extraArgs));
        return TestApiServer.helm(args.toArray(String[]::new));
    }

    /** The objects of a rendered chart (CRDs included unless --skip-crds was passed). */
    public static List<HasMetadata> parse(KubernetesClient client, String yaml) {
        return client.load(new ByteArrayInputStream(yaml.getBytes(StandardCharsets.UTF_8))).items();
    }

    /**
     * helm install into a new namespace of the shared test API server. The CRDs are skipped: the
     * fixture installed the same files (GeneratedCrdsApiServerTest keeps the chart's copies equal).
     */
    public static void install(Path kubeconfig, String release, String namespace, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("--skip-crds"));
        args.addAll(List.of(extraArgs));
        installWithCrds(kubeconfig, release, namespace, args.toArray(String[]::new));
    }

    /** helm install as a user does it: the chart's crds/ first, then the templates. */
    public static void installWithCrds(Path kubeconfig, String release, String namespace, String... extraArgs) {
        List<String> args = new ArrayList<>(List.of("install", release, dir().toString(), "--namespace", namespace,
                "--create-namespace", "--kubeconfig", kubeconfig.toString()));
        args.addAll(List.of(extraArgs));
        TestApiServer.helm(args.toArray(String[]::new));
    }

    public static void uninstall(Path kubeconfig, String release, String namespace) {
        TestApiServer.helm("uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig.toString());
    }

    /**
     * The Prometheus Operator's CRDs for the kinds the chart renders (PodMonitor, ServiceMonitor,
     * PrometheusRule), as that project publishes them (its Go module's
     * example/prometheus-operator-crd, fetched by hack/build-test-binaries.sh at the version of
     * hack/versions.env): the API server then checks the chart's objects against their real schemas.
     */
    public static void installMonitoringCrds(KubernetesClient client) {
        for (Path file : monitoringCrdFiles()) {
            try (InputStream in = Files.newInputStream(file)) {
                for (HasMetadata crd : client.load(in).items()) {
                    client.resource(crd).forceConflicts().serverSideApply();
                    client.apiextensions().v1().customResourceDefinitions().withName(crd.getMetadata().getName())
                            .waitUntilCondition(c -> c != null && c.getStatus() != null && c.getStatus().getConditions() != null
                                    && c.getStatus().getConditions().stream()
                                            .anyMatch(x -> "Established".equals(x.getType()) && "True".equals(x.getStatus())),
                                    60, TimeUnit.SECONDS);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    public static List<Path> monitoringCrdFiles() {
        String testDir = System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest");
        Path dir = Path.of(testDir, "prometheus-operator-crd", "v" + TestApiServer.versionsEnv("PROMETHEUS_OPERATOR_VERSION"));
        List<Path> files = new ArrayList<>();
        for (String plural : List.of("podmonitors", "servicemonitors", "prometheusrules")) {
            Path file = dir.resolve("monitoring.coreos.com_" + plural + ".yaml");
            if (!Files.isRegularFile(file)) {
                throw new IllegalStateException("No Prometheus Operator CRD " + file
                        + ": run hack/build-test-binaries.sh (the test command does it for you)");
            }
            files.add(file);
        }
        return files;
    }

    /** The plain name=value environment of a Deployment's first container, in order. */
    public static Map<String, String> env(Deployment deployment) {
        Map<String, String> env = new LinkedHashMap<>();
        for (EnvVar var : deployment.getSpec().getTemplate().getSpec().getContainers().get(0).getEnv()) {
            if (var.getValueFrom() != null) {
                throw new IllegalStateException("env " + var.getName() + " uses valueFrom, which a test process cannot resolve");
            }
            env.put(var.getName(), var.getValue());
        }
        return env;
    }
}
