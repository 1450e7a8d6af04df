package dev.conntrack.agent;

/** Entry point of the agent role. */
public final class AgentMain {
    private AgentMain() {
    }

    public static void main(String... args) {
        System.out.println("conntrack-operator agent: not implemented yet");
    }
}
