package dev.conntrack.agent;

/** A process that dies the way a broken agent thread would: for AgentExitTest. */
public final class UncaughtErrorMain {
    private UncaughtErrorMain() {
    }

    public static void main(String... args) throws InterruptedException {
        AgentMain.exitOnUncaughtErrors();
        Thread poll = new Thread(() -> {
            throw new NoClassDefFoundError("dev/conntrack/Missing");
        }, "conntrack-poll");
        poll.setDaemon(true);
        poll.start();
        // The main thread would wait for ever, as the agent's does.
        Thread.sleep(60_000);
        System.exit(0);
    }
}
