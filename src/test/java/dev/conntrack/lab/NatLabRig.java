package dev.conntrack.lab;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.testing.RoleProcess;
import dev.conntrack.testing.Sysctls;
import dev.conntrack.testing.TestApiServer;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * What the NAT lab's end-to-end tests run on: the lab of hack/natlab.sh, a Node for this machine
 * (label run=RUN, 2 CPUs), the operator and this machine's agent as processes from the built
 * artifact. Closing stops the processes, deletes the test's policy and node and takes the lab down;
 * the test restores the sysctls it saved itself.
 */
record NatLabRig(NatLab lab, KubernetesClient client, RoleProcess operator, RoleProcess agent, String node, String policy)
        implements AutoCloseable {

    static NatLabRig start(String run, String name, Map<String, String> agentEnv, String... agentJvmOptions) throws IOException {
        // The lab lowers max to 1000 and its own flows must be what fills it: the machine's entries
        // (the suite's API servers keep their etcd and watch connections on loopback, about 240 by the
        // time the lab runs; the lab's notrack table keeps new ones out) must leave most of it to them.
        assertThat(Long.parseLong(Sysctls.read("nf_conntrack_count")))
                .as("this machine's own namespace must track at most half the max the lab sets")
                .isLessThan(500);
        NatLab lab = NatLab.up();
        KubernetesClient client = TestApiServer.newClient();
        String node = name + "-" + run;
        TestApiServer.registerNode(client, node, Map.of("run", run), "2");
        Path dir = Files.createTempDirectory(name + "-e2e");
        Path kubeconfig = TestApiServer.kubeConfigFile(dir);
        RoleProcess operator = RoleProcess.operator(kubeconfig, "operator-" + name);
        RoleProcess agent = RoleProcess.agent(kubeconfig, "agent-" + name, node, dir.resolve("state"), agentEnv, agentJvmOptions);
        return new NatLabRig(lab, client, operator, agent, node, name + "-" + run);
    }

    @Override
    public void close() {
        try {
            TestApiServer.stopAndDelete(client, policy, node, agent, operator);
        } finally {
            lab.close();
        }
    }
}
