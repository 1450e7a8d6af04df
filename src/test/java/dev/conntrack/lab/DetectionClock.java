package dev.conntrack.lab;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Measures detection latency: the moment the router namespace's kernel drop counter first rises
 * (sampled every millisecond) to the moment a reported signal turns true (sampled every 20 ms).
 */
public final class DetectionClock {
    private final CompletableFuture<Long> firstDrop = new CompletableFuture<>();
    private final CompletableFuture<Long> reported = new CompletableFuture<>();

    public record Result(boolean detected, long millis) {
    }

    private DetectionClock() {
    }

    public static DetectionClock start(NatLab lab, BooleanSupplier signal) {
        DetectionClock clock = new DetectionClock();
        long baseline = lab.routerDrops();
        Thread drops = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !clock.firstDrop.isDone()) {
                if (lab.routerDrops() > baseline) {
                    clock.firstDrop.complete(System.nanoTime());
                }
                sleep(1);
            }
        }, "first-drop");
        Thread report = new Thread(() -> {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (System.nanoTime() < deadline && !clock.reported.isDone()) {
                try {
                    if (clock.firstDrop.isDone() && signal.getAsBoolean()) {
                        clock.reported.complete(System.nanoTime());
                    }
                } catch (RuntimeException e) {
                    // The API server answered badly once: sample again.
                }
                sleep(20);
            }
        }, "reported");
        drops.setDaemon(true);
        report.setDaemon(true);
        drops.start();
        report.start();
        return clock;
    }

    public Result await(Duration timeout) {
        try {
            long reportedAt = reported.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
            return new Result(true, (reportedAt - firstDrop.get()) / 1_000_000);
        } catch (TimeoutException e) {
            return new Result(false, -1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(false, -1);
        } catch (ExecutionException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
