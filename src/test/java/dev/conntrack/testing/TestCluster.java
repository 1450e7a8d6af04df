package dev.conntrack.testing;

import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A cluster that test scenarios run against: a bare kube-apiserver from kube-api-test (no kubelet,
 * no controllers: processes stand in for pods) or k3s in a container (real kubelet: the chart's
 * pods really run). Scenarios written against this interface run on both.
 */
public interface TestCluster extends AutoCloseable {

    /** Admin kubeconfig. */
    String kubeConfigYaml();

    /** Whether pods really run (a kubelet), or tests must start the roles as processes. */
    boolean runsPods();

    default KubernetesClient newClient() {
        return new KubernetesClientBuilder().withConfig(Config.fromKubeconfig(kubeConfigYaml())).build();
    }

    /** The admin kubeconfig written to dir/kubeconfig, for helm, kubectl and role processes. */
    default Path kubeConfigFile(Path dir) {
        try {
            return Files.writeString(dir.resolve("kubeconfig"), kubeConfigYaml());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    void close();
}
