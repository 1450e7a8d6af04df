package dev.conntrack.testing;

import com.github.dockerjava.api.DockerClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * k3s in a container (Testcontainers; needs a Docker engine): a real kubelet, so the chart's
 * Deployment and the agent DaemonSet really run as pods, from the image the repository's
 * Dockerfile builds. Under hack/test.sh both images are built here (hack/image.sh k3s and build:
 * no registry is reachable) and, when no engine answers, the suite runs one of its own
 * (hack/docker.sh) while k3s runs; on a workstation, Testcontainers pulls rancher/k3s and builds
 * the Dockerfile with the local engine (docs/k3s.md).
 */
public final class K3sTestCluster implements TestCluster {
    /**
     * k3s image; override with -Dconntrack.k3s.image (the chart needs Kubernetes 1.30+). The default
     * is the version hack/versions.env pins, which hack/image.sh k3s builds under this very name.
     */
    public static final String K3S_IMAGE = System.getProperty("conntrack.k3s.image", "rancher/k3s:" + pinnedVersion());
    /** A docker-archive of the project's image (hack/image.sh build) to load instead of building the Dockerfile here. */
    public static final String IMAGE_ARCHIVE = System.getProperty("conntrack.image.archive", "");
    /** A docker-archive of K3S_IMAGE (hack/image.sh k3s) to load into the engine when it lacks the image. */
    private static final String K3S_ARCHIVE = System.getProperty("conntrack.k3s.archive", "");
    /**
     * Whether the suite runs an engine of its own (hack/docker.sh, at DOCKER_HOST) for as long as
     * k3s runs: hack/test.sh sets it when no engine answers. Stopping it also restores what the k3s
     * kubelet wrote on the host (global sysctls, cgroups).
     */
    private static final boolean OWN_ENGINE = Boolean.getBoolean("conntrack.docker.own");

    private final K3sContainer k3s;

    private K3sTestCluster(K3sContainer k3s) {
        this.k3s = k3s;
    }

    public static K3sTestCluster start() {
        // One kubelet at a time on this host's cgroup tree (K3sContainer binds /sys/fs/cgroup).
        RealNode.downIfUp();
        if (OWN_ENGINE) {
            RealNode.script(120, "hack/docker.sh", "up");
        }
        try {
            loadK3sImage();
            K3sContainer k3s = new K3sContainer(DockerImageName.parse(K3S_IMAGE));
            k3s.start();
            return new K3sTestCluster(k3s);
        } catch (RuntimeException e) {
            stopOwnEngine();
            throw e;
        }
    }

    private static void loadK3sImage() {
        DockerClient docker = DockerClientFactory.instance().client();
        if (K3S_ARCHIVE.isEmpty() || !docker.listImagesCmd().withReferenceFilter(K3S_IMAGE).exec().isEmpty()) {
            return;
        }
        try (InputStream archive = Files.newInputStream(Path.of(K3S_ARCHIVE))) {
            docker.loadImageCmd(archive).exec();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void stopOwnEngine() {
        if (OWN_ENGINE) {
            RealNode.script(300, "hack/docker.sh", "down");
        }
    }

    /**
     * Builds the project's Dockerfile (target/quarkus-app must exist: this tier runs after
     * package) and imports the image into k3s' containerd, so pods use it with pullPolicy Never.
     *
     * @return the image reference to put into the chart's values
     */
    public String buildAndLoadProjectImage(String name) {
        if (!IMAGE_ARCHIVE.isEmpty()) {
            // The same recipe as the real-node tier (hack/image.sh build: buildah, local base).
            RealNode.script(900, "hack/image.sh", "build", IMAGE_ARCHIVE);
            importArchive(Path.of(IMAGE_ARCHIVE));
            return "conntrack-operator:0.1.0";
        }
        Path dockerfile = TestApiServer.projectDir().resolve("Dockerfile");
        String image = new ImageFromDockerfile(name, false).withDockerfile(dockerfile).get();
        try {
            Path tar = Files.createTempFile("conntrack-image", ".tar");
            try (InputStream saved = DockerClientFactory.instance().client().saveImageCmd(image).exec()) {
                Files.copy(saved, tar, StandardCopyOption.REPLACE_EXISTING);
            }
            importArchive(tar);
            Files.delete(tar);
            return image;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** An image archive (docker-archive or OCI) into k3s' containerd, for pods with pullPolicy Never. */
    private void importArchive(Path tar) {
        try {
            k3s.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/conntrack-image.tar");
            ExecResult imported = k3s.execInContainer("ctr", "-n", "k8s.io", "images", "import", "/tmp/conntrack-image.tar");
            if (imported.getExitCode() != 0) {
                throw new IllegalStateException("importing " + tar + " into k3s failed (exit " + imported.getExitCode() + "): "
                        + imported.getStdout() + imported.getStderr());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** K3S_VERSION of hack/versions.env as an image tag (v1.35.1+k3s1 -> v1.35.1-k3s1). */
    private static String pinnedVersion() {
        java.util.Properties p = new java.util.Properties();
        try (InputStream in = Files.newInputStream(TestApiServer.projectDir().resolve("hack/versions.env"))) {
            p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("K3S_VERSION").trim().replace('+', '-');
    }

    @Override
    public String kubeConfigYaml() {
        return k3s.getKubeConfigYaml();
    }

    @Override
    public boolean runsPods() {
        return true;
    }

    @Override
    public void close() {
        try {
            k3s.stop();
        } finally {
            stopOwnEngine();
        }
    }
}
