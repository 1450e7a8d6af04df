package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PodNames on a fake /var/log/pods tree, with a hand-driven clock. */
class PodNamesTest {
    private static final String UID_A = "aaaaaaaa-0000-4000-8000-000000000001";
    private static final String UID_B = "bbbbbbbb-0000-4000-8000-000000000002";
    private static final String STATIC_HASH = "0123456789abcdef0123456789abcdef";

    @TempDir
    Path root;

    private HostPaths paths;
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private PodNames names;

    @BeforeEach
    void host() {
        paths = new HostPaths(root);
        names = new PodNames(paths, now::get, Duration.ofSeconds(10), 100);
    }

    private void podFolder(String folder) throws IOException {
        Files.createDirectories(paths.podLogs().resolve(folder).resolve("container"));
    }

    @Test
    void namesThePodOfAUidFromItsLogFolder() throws IOException {
        podFolder("kube-system_coredns-7db6d8ff4d-x2x9k_" + UID_A);
        podFolder("shop_checkout-0_" + UID_B);
        podFolder("kube-system_kube-apiserver-node-1_" + STATIC_HASH);

        assertThat(names.nameOf(UID_A)).hasValue("kube-system/coredns-7db6d8ff4d-x2x9k");
        assertThat(names.nameOf(UID_B)).hasValue("shop/checkout-0");
        assertThat(names.nameOf(STATIC_HASH)).hasValue("kube-system/kube-apiserver-node-1");
    }

    @Test
    void aNewPodIsFoundOnceTheRefreshIntervalHasPassed() throws IOException {
        podFolder("shop_checkout-0_" + UID_B);
        assertThat(names.nameOf(UID_A)).isEmpty(); // lists once, A not there yet

        podFolder("kube-system_coredns-abc_" + UID_A);
        now.addAndGet(Duration.ofSeconds(5).toNanos());
        // Within the interval the directory is not listed again: unknown UIDs cost nothing per poll.
        assertThat(names.nameOf(UID_A)).isEmpty();

        now.addAndGet(Duration.ofSeconds(6).toNanos());
        assertThat(names.nameOf(UID_A)).hasValue("kube-system/coredns-abc");
        // Known names are served from the cache whatever the clock says.
        assertThat(names.nameOf(UID_B)).hasValue("shop/checkout-0");
    }

    @Test
    void podsThatLeftTheNodeLeaveTheCacheOnTheNextListing() throws IOException {
        podFolder("shop_checkout-0_" + UID_B);
        assertThat(names.nameOf(UID_B)).hasValue("shop/checkout-0");

        Files.delete(paths.podLogs().resolve("shop_checkout-0_" + UID_B).resolve("container"));
        Files.delete(paths.podLogs().resolve("shop_checkout-0_" + UID_B));
        now.addAndGet(Duration.ofSeconds(11).toNanos());
        assertThat(names.nameOf(UID_A)).isEmpty(); // an unknown UID triggers the listing
        assertThat(names.nameOf(UID_B)).isEmpty();
    }

    @Test
    void withoutTheDirectoryNamesAreUnknown() {
        assertThat(names.nameOf(UID_A)).isEmpty();
        assertThat(names.nameOf(null)).isEmpty();
        assertThat(names.nameOf("")).isEmpty();
    }

    @Test
    void readsAtMostMaxEntriesFolders() throws IOException {
        for (int i = 0; i < 5; i++) {
            podFolder("ns_pod-" + i + "_" + "cccccccc-0000-4000-8000-00000000000" + i);
        }
        PodNames capped = new PodNames(paths, now::get, Duration.ofSeconds(10), 2);
        int known = 0;
        for (int i = 0; i < 5; i++) {
            if (capped.nameOf("cccccccc-0000-4000-8000-00000000000" + i).isPresent()) {
                known++;
            }
        }
        assertThat(known).isEqualTo(2);
    }

    @Test
    void splitsOnlyWellFormedFolderNames() {
        assertThat(PodNames.parse("default_web-1_" + UID_A))
                .hasValue(new PodNames.PodFolder("default", "web-1", UID_A));
        assertThat(PodNames.parse("no-underscores")).isEmpty();
        assertThat(PodNames.parse("_name_" + UID_A)).isEmpty();
        assertThat(PodNames.parse("ns__" + UID_A)).isEmpty();
        assertThat(PodNames.parse("ns_name_")).isEmpty();
        assertThat(PodNames.parse("ns_name_uid_extra")).isEmpty();
    }
}
