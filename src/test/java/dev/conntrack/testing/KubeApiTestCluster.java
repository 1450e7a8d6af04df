package dev.conntrack.testing;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;

/**
 * A kube-apiserver + etcd of its own (not the JVM-wide {@link TestApiServer}), with the project's
 * CRDs installed, for tests that act on every object of a kind (like the uninstall script, which
 * deletes all policies) and must not see or disturb what other tests left in the shared server.
 */
public final class KubeApiTestCluster implements TestCluster {
    private final KubeAPIServer server;

    private KubeApiTestCluster(KubeAPIServer server) {
        this.server = server;
    }

    public static KubeApiTestCluster start() {
        String dir = System.getProperty("kube.api.test.dir", System.getProperty("user.home") + "/.kubeapitest");
        KubeAPIServer server = new KubeAPIServer(KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withTestDir(dir)
                .withApiServerVersion(TestApiServer.kubernetesVersion())
                .withOfflineMode(true)
                .withUpdateKubeConfig(false)
                .withStartupTimeout(120_000)
                .build());
        server.start();
        KubeApiTestCluster cluster = new KubeApiTestCluster(server);
        try (KubernetesClient client = cluster.newClient()) {
            TestApiServer.installCrds(client);
        } catch (RuntimeException e) {
            server.stop();
            throw e;
        }
        return cluster;
    }

    @Override
    public String kubeConfigYaml() {
        return server.getKubeConfigYaml();
    }

    @Override
    public boolean runsPods() {
        return false;
    }

    @Override
    public void close() {
        server.stop();
    }
}
