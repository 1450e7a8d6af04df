package dev.conntrack.kernel;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.Locale;

/**
 * Maps the JDK's IOExceptions back to the errno they came from. The JDK keeps strerror() text in
 * FileSystemException.getReason() (NIO) or in the message (java.io, FileChannel.write), so the
 * text is the reliable part; exception types only cover a few errnos.
 */
public final class IoErrors {
    private IoErrors() {
    }

    public static IoFailure classify(IOException e) {
        String text = errnoText(e);
        String lower = text.toLowerCase(Locale.ROOT);
        FailureReason reason;
        if (e instanceof NoSuchFileException || lower.contains("no such file") || lower.contains("no such device")) {
            reason = FailureReason.NotFound;
        } else if (lower.contains("read-only file system")) {
            reason = FailureReason.ReadOnlyFileSystem;
        } else if (e instanceof AccessDeniedException || lower.contains("permission denied")
                || lower.contains("operation not permitted")
                // EOPNOTSUPP: nf_conntrack refuses hashsize from any but the initial network namespace.
                || lower.contains("operation not supported")) {
            reason = FailureReason.PermissionDenied;
        } else if (lower.contains("invalid argument")) {
            reason = FailureReason.InvalidValue;
        } else if (e instanceof FileNotFoundException) {
            // java.io reports every open failure this way; the text in parentheses says which.
            reason = FailureReason.NotFound;
        } else {
            reason = FailureReason.Other;
        }
        return new IoFailure(reason, text);
    }

    /** "Read-only file system" rather than "/proc/sys/...: Read-only file system". */
    static String errnoText(IOException e) {
        if (e instanceof FileSystemException) {
            FileSystemException fse = (FileSystemException) e;
            if (fse.getReason() != null) {
                return fse.getReason();
            }
            if (e instanceof NoSuchFileException) {
                return "No such file or directory";
            }
            if (e instanceof AccessDeniedException) {
                return "Permission denied";
            }
        }
        String message = e.getMessage();
        if (message == null) {
            return e.getClass().getSimpleName();
        }
        // FileNotFoundException: "/path (Permission denied)".
        int open = message.lastIndexOf(" (");
        if (e instanceof FileNotFoundException && open >= 0 && message.endsWith(")")) {
            return message.substring(open + 2, message.length() - 1);
        }
        return message;
    }
}
