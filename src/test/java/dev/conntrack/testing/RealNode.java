package dev.conntrack.testing;

import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The real one-node cluster of {@code hack/cluster.sh up --node} (a kubelet on containerd, CNI
 * bridge, kube-proxy, controller-manager, scheduler), with the project's image built from the
 * Dockerfile by {@code hack/image.sh} and imported into the node. One per test JVM, brought down
 * (host restored) by a shutdown hook; {@code hack/test.sh} also runs {@code down} after the build.
 * The *NodeTest tier runs against it: the chart, the operator and the agents as real pods.
 */
public final class RealNode implements TestCluster {
    /** The image the Dockerfile build is tagged with (hack/image.sh), imported into the node. */
    public static final String IMAGE_REPOSITORY = "conntrack-operator";
    public static final String IMAGE_TAG = "0.1.0";
    /** nginx on the same base (hack/node/nginx.Containerfile), for the NAT case. */
    public static final String NGINX_IMAGE = "localhost/conntrack-nginx:1";
    /** The node's address on its pod bridge (hack/lib/node.sh): kubelet, API server, hostNetwork pods. */
    public static final String NODE_IP = "10.244.0.1";
    public static final String POD_CIDR = "10.244.0.0/24";
    /** kube-proxy's --cluster-cidr: the pods' subnet and room for test clients that must not be masqueraded. */
    public static final String CLUSTER_CIDR = "10.244.0.0/16";
    public static final String SERVICE_CIDR = "10.96.0.0/16";
    public static final String NAMESPACE = "conntrack-system";
    public static final String RELEASE = "conntrack-operator";

    private static RealNode node;
    private final Path dir;
    private boolean nginxImported;

    private RealNode(Path dir) {
        this.dir = dir;
    }

    /** Brings the node up (and the project's image into it) on first use. */
    public static synchronized RealNode get() {
        if (node == null) {
            requireRoot();
            Path dir = TestApiServer.projectDir().resolve(".cluster-node");
            RealNode started = new RealNode(dir);
            Runtime.getRuntime().addShutdownHook(new Thread(started::close, "real-node-down"));
            script(600, "hack/cluster.sh", "up", "--node");
            Path archive = TestApiServer.projectDir().resolve("target/images/conntrack-operator.tar");
            script(900, "hack/image.sh", "build", archive.toString());
            started.importImage(archive);
            node = started;
        }
        return node;
    }

    /**
     * Brings the node down if this JVM brought it up: the k3s tier's kubelet (in a container with
     * the host's cgroup tree) would share the host's kubepods cgroups with this node's kubelet, and
     * each kubelet removes the pod cgroups it does not know. A later get() brings it up again.
     */
    public static synchronized void downIfUp() {
        if (node != null) {
            node.close();
            node = null;
        }
    }

    private static void requireRoot() {
        if (!"root".equals(System.getProperty("user.name"))) {
            throw new IllegalStateException("The *NodeTest tier runs a kubelet, containerd and kube-proxy on this machine:"
                    + " it needs root (run hack/test.sh as root)");
        }
    }

    public void importImage(Path archive) {
        script(300, "hack/cluster.sh", "import", "--node", archive.toString());
    }

    /** The nginx image of the NAT case, built once (cached under ~/.kubeapitest/images) and imported. */
    public synchronized void importNginx() {
        if (!nginxImported) {
            Path archive = Path.of(System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest"),
                    "images", "nginx.tar");
            if (!Files.exists(archive)) {
                script(600, "hack/image.sh", "nginx", archive.toString());
            }
            importImage(archive);
            nginxImported = true;
        }
    }

    /** Restarts the kubelet or kube-proxy; args are added to its flags. */
    public void restart(String component, String... args) {
        List<String> command = new ArrayList<>(List.of("hack/cluster.sh", "restart", "--node", component));
        command.addAll(List.of(args));
        script(120, command.toArray(String[]::new));
    }

    public Path kubeconfig() {
        return dir.resolve("kubeconfig");
    }

    /** The one Node's name (the kubelet registers this machine's hostname). */
    public String nodeName() {
        try (KubernetesClient client = newClient()) {
            return client.nodes().list().getItems().get(0).getMetadata().getName();
        }
    }

    /** The release namespace, labelled for the privileged agents before the install (as docs/install.md says). */
    public void createReleaseNamespace(KubernetesClient client) {
        client.namespaces().resource(new NamespaceBuilder().withNewMetadata().withName(NAMESPACE)
                .addToLabels("pod-security.kubernetes.io/enforce", "privileged").endMetadata().build()).serverSideApply();
    }

    /** helm install of the chart with its CRDs and the image built here (never pulled). */
    public void installChart(String... extraArgs) {
        try (KubernetesClient client = newClient()) {
            createReleaseNamespace(client);
        }
        List<String> args = new ArrayList<>(List.of("--set", "image.repository=" + IMAGE_REPOSITORY, "--set", "image.tag=" + IMAGE_TAG,
                "--set", "image.pullPolicy=Never", "--wait", "--timeout", "3m"));
        args.addAll(List.of(extraArgs));
        Chart.installWithCrds(kubeconfig(), RELEASE, NAMESPACE, args.toArray(String[]::new));
    }

    @Override
    public String kubeConfigYaml() {
        try {
            return Files.readString(kubeconfig());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public boolean runsPods() {
        return true;
    }

    @Override
    public void close() {
        if (Boolean.getBoolean("conntrack.node.keep")) {
            return;
        }
        script(300, "hack/cluster.sh", "down", "--node");
    }

    /** Runs a script of the repository; its output goes to target/node-scripts.log. */
    public static String script(int timeoutSeconds, String... command) {
        Path log = TestApiServer.projectDir().resolve("target/node-scripts.log");
        try {
            Files.createDirectories(log.getParent());
            Path out = Files.createTempFile(log.getParent(), "script", ".out");
            Process p = new ProcessBuilder(command).directory(TestApiServer.projectDir().toFile())
                    .redirectErrorStream(true).redirectOutput(out.toFile()).start();
            boolean done = p.waitFor(timeoutSeconds, TimeUnit.SECONDS);
            if (!done) {
                p.destroy();
                p.waitFor(30, TimeUnit.SECONDS);
            }
            String output = Files.readString(out);
            Files.delete(out);
            Files.writeString(log, "$ " + String.join(" ", command) + "\n" + output, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
            if (!done || p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", command) + (done ? " failed (exit " + p.exitValue() + ")" : " timed out")
                        + ":\n" + output);
            }
            return output;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
