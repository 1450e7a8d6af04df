package dev.conntrack.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.junit.jupiter.api.Test;

/** The exceptions the JDK really throws for each errno (types and texts as in the JDK's UnixException). */
class IoErrorsTest {
    private static final String FILE = "/proc/sys/net/netfilter/nf_conntrack_max";

    @Test
    void readOnlyFileSystemAtOpen() {
        IoFailure f = IoErrors.classify(new FileSystemException(FILE, null, "Read-only file system"));
        assertThat(f.reason()).isEqualTo(FailureReason.ReadOnlyFileSystem);
        assertThat(f.errnoText()).isEqualTo("Read-only file system");
    }

    @Test
    void permissionDeniedAtOpenOrWrite() {
        assertThat(IoErrors.classify(new AccessDeniedException(FILE)).reason()).isEqualTo(FailureReason.PermissionDenied);
        assertThat(IoErrors.classify(new AccessDeniedException(FILE)).errnoText()).isEqualTo("Permission denied");
        assertThat(IoErrors.classify(new FileSystemException(FILE, null, "Operation not permitted")).reason())
                .isEqualTo(FailureReason.PermissionDenied);
        assertThat(IoErrors.classify(new FileNotFoundException(FILE + " (Permission denied)")).reason())
                .isEqualTo(FailureReason.PermissionDenied);
    }

    @Test
    void hashsizeRefusedOutsideTheInitialNetworkNamespace() {
        // Measured on 6.18 under `ip netns exec`: FileChannel.write to
        // /sys/module/nf_conntrack/parameters/hashsize fails with EOPNOTSUPP.
        IoFailure f = IoErrors.classify(new IOException("Operation not supported"));
        assertThat(f.reason()).isEqualTo(FailureReason.PermissionDenied);
        assertThat(f.errnoText()).isEqualTo("Operation not supported");
    }

    @Test
    void invalidArgumentAtWrite() {
        // FileChannel.write reports the errno text as the message.
        IoFailure f = IoErrors.classify(new IOException("Invalid argument"));
        assertThat(f.reason()).isEqualTo(FailureReason.InvalidValue);
        assertThat(f.errnoText()).isEqualTo("Invalid argument");
    }

    @Test
    void missingFile() {
        assertThat(IoErrors.classify(new NoSuchFileException(FILE)).reason()).isEqualTo(FailureReason.NotFound);
        assertThat(IoErrors.classify(new NoSuchFileException(FILE)).errnoText()).isEqualTo("No such file or directory");
        IoFailure javaIo = IoErrors.classify(new FileNotFoundException(FILE + " (No such file or directory)"));
        assertThat(javaIo.reason()).isEqualTo(FailureReason.NotFound);
        assertThat(javaIo.errnoText()).isEqualTo("No such file or directory");
    }

    @Test
    void anythingElseIsOther() {
        assertThat(IoErrors.classify(new IOException("Device or resource busy")).reason()).isEqualTo(FailureReason.Other);
        assertThat(IoErrors.classify(new IOException()).errnoText()).isEqualTo("IOException");
    }
}
