package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import dev.conntrack.kernel.PodResolver.PodRef;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodResolverTest {
    private static final String UID = "5c1c8f1e-2b7a-4d3e-9f60-0a1b2c3d4e5f";
    private static final String UID_UNDERSCORES = UID.replace('-', '_');
    private static final String ID = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899";

    @TempDir
    Path root;

    private static Optional<PodRef> pod(String uid, String id) {
        return Optional.of(new PodRef(uid, Optional.ofNullable(id)));
    }

    @Test
    void cgroupV2SystemdDriverWithContainerd() {
        assertThat(PodResolver.parse("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + UID_UNDERSCORES
                + ".slice/cri-containerd-" + ID + ".scope\n")).isEqualTo(pod(UID, ID));
    }

    @Test
    void cgroupV2CgroupfsDriver() {
        assertThat(PodResolver.parse("0::/kubepods/besteffort/pod" + UID + "/" + ID + "\n")).isEqualTo(pod(UID, ID));
    }

    @Test
    void guaranteedQosHasNoQosLevel() {
        assertThat(PodResolver.parse("0::/kubepods.slice/kubepods-pod" + UID_UNDERSCORES + ".slice/crio-" + ID + ".scope\n"))
                .isEqualTo(pod(UID, ID));
        assertThat(PodResolver.parse("0::/kubepods/pod" + UID + "/" + ID + "\n")).isEqualTo(pod(UID, ID));
    }

    @Test
    void cgroupV1LinesWithDocker() {
        String file = "12:memory:/kubepods/burstable/pod" + UID + "/" + ID + "\n"
                + "11:cpu,cpuacct:/kubepods/burstable/pod" + UID + "/" + ID + "\n"
                + "1:name=systemd:/kubepods/burstable/pod" + UID + "/" + ID + "\n";
        assertThat(PodResolver.parse(file)).isEqualTo(pod(UID, ID));
        assertThat(PodResolver.parse("4:memory:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + UID_UNDERSCORES
                + ".slice/docker-" + ID + ".scope\n")).isEqualTo(pod(UID, ID));
    }

    @Test
    void hybridHierarchyPrefersTheV2LineAndFallsBackToV1() {
        String v2Root = "4:memory:/kubepods/burstable/pod" + UID + "/" + ID + "\n0::/\n";
        assertThat(PodResolver.parse(v2Root)).isEqualTo(pod(UID, ID));
    }

    @Test
    void kindNodesNestTheKubeletSlice() {
        assertThat(PodResolver.parse("0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
                + "kubelet-kubepods-besteffort-pod" + UID_UNDERSCORES + ".slice/cri-containerd-" + ID + ".scope\n"))
                .isEqualTo(pod(UID, ID));
    }

    @Test
    void staticPodsCarryAConfigHashUnderKubepodsOnly() {
        String hash = "6d3d4d8e2f5c8a1b0c9d8e7f6a5b4c3d";
        assertThat(PodResolver.parse("0::/kubepods/burstable/pod" + hash + "/" + ID + "\n")).isEqualTo(pod(hash, ID));
        assertThat(PodResolver.parse("0::/system.slice/pod" + hash + ".service\n")).isEmpty();
    }

    @Test
    void podLevelCgroupAndUnknownContainerNamesGiveNoContainerId() {
        assertThat(PodResolver.parse("0::/kubepods/besteffort/pod" + UID + "\n")).isEqualTo(pod(UID, null));
        assertThat(PodResolver.parse("0::/kubepods.slice/kubepods-pod" + UID_UNDERSCORES + ".slice/crio-conmon-" + ID + ".scope\n"))
                .isEqualTo(pod(UID, null));
    }

    @Test
    void hostProcessesAndCgroupNamespacesAreNotPods() {
        assertThat(PodResolver.parse("0::/system.slice/containerd.service\n")).isEmpty();
        assertThat(PodResolver.parse("0::/\n")).isEmpty();
        assertThat(PodResolver.parse("9:name=systemd:/\n4:memory:/process_api/636b23ff1778144bd16f74ff5ca82d51\n0::/\n")).isEmpty();
        assertThat(PodResolver.parse("0::/kubepods/besteffort/podnot-a-uid/" + ID + "\n")).isEmpty();
        assertThat(PodResolver.parse("garbage\n\n")).isEmpty();
    }

    @Test
    void resolvesThroughProcPidCgroupAndMissingProcessIsEmpty() {
        FakeHost host = FakeHost.empty(root);
        FakeHost.write(host.paths().cgroup(77), "0::/kubepods/besteffort/pod" + UID + "/" + ID + "\n");
        PodResolver resolver = new PodResolver(host.paths());

        assertThat(resolver.resolve(77)).isEqualTo(pod(UID, ID));
        assertThat(resolver.resolve(78)).isEmpty();
    }
}
