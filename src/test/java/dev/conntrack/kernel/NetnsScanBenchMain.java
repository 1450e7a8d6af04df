package dev.conntrack.kernel;

import java.util.Arrays;

/**
 * Entry point of bench/netns-scan.sh: PASSES scans of the real node (host root "/") in a row,
 * then the per-pass time (median, p90, max; the first pass, with its cold JIT, reported apart)
 * and what a pass saw.
 */
public final class NetnsScanBenchMain {
    private NetnsScanBenchMain() {
    }

    public static void main(String[] args) {
        int passes = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        NetnsScanner scanner = new NetnsScanner(HostPaths.host(), NetnsScanner.Limits.DEFAULT);
        NetnsScan first = scanner.scan();
        long[] micros = new long[passes];
        NetnsScan last = first;
        for (int i = 0; i < passes; i++) {
            last = scanner.scan();
            micros[i] = last.elapsed().toNanos() / 1000;
        }
        Arrays.sort(micros);
        System.out.println("first_pass_us=" + first.elapsed().toNanos() / 1000);
        System.out.println("median_us=" + micros[passes / 2]);
        System.out.println("p90_us=" + micros[(int) (passes * 0.9)]);
        System.out.println("max_us=" + micros[passes - 1]);
        System.out.println("namespaces=" + last.namespaces().size());
        System.out.println("pids_scanned=" + last.pidsScanned());
        System.out.println("kernel_threads_skipped=" + last.kernelThreadsSkipped());
        System.out.println("unavailable=" + last.unavailable().size());
    }
}
