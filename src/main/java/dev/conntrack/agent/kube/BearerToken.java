package dev.conntrack.agent.kube;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.logging.Logger;

/**
 * The bearer token sent to the API server. A projected service-account token expires and the
 * kubelet rewrites the file well before it does, so the file is read again once a minute (what
 * client-go does); a fixed token (from the environment or a kubeconfig) never changes.
 */
public final class BearerToken {
    static final Duration REREAD = Duration.ofMinutes(1);
    private static final Logger LOG = Logger.getLogger(BearerToken.class.getName());

    private final Path file;
    private final Clock clock;
    private String token;
    private Instant readAt = Instant.MIN;

    private BearerToken(String token, Path file, Clock clock) {
        this.token = token;
        this.file = file;
        this.clock = clock;
    }

    public static BearerToken fixed(String token) {
        return new BearerToken(token, null, Clock.systemUTC());
    }

    public static BearerToken fromFile(Path file, Clock clock) {
        return new BearerToken(null, file, clock);
    }

    /** The current token; when the file cannot be read again, the last one read (it may still be valid). */
    public synchronized String value() {
        if (file != null) {
            Instant now = clock.instant();
            if (token == null || !now.isBefore(readAt.plus(REREAD))) {
                try {
                    token = Files.readString(file, StandardCharsets.UTF_8).trim();
                    readAt = now;
                } catch (IOException e) {
                    LOG.warning("token file " + file + " not readable: " + e.getMessage()
                            + (token == null ? "" : "; keeping the last token"));
                    readAt = now;
                }
            }
        }
        return token;
    }

    @Override
    public String toString() {
        return file != null ? "token file " + file : "token";
    }
}
