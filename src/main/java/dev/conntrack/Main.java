package dev.conntrack;

import dev.conntrack.agent.AgentMain;
import dev.conntrack.operator.OperatorApplication;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.annotations.QuarkusMain;

/**
 * One artifact, two roles. The operator role boots Quarkus and the operator SDK; the agent role
 * runs on every node and deliberately starts without Quarkus, so that it stays small.
 */
@QuarkusMain
public class Main {

    public static void main(String... args) {
        Role role = Role.fromEnvironment(System.getenv(Role.ENV));
        if (role == Role.AGENT) {
            AgentMain.main(args);
        } else {
            Quarkus.run(OperatorApplication.class, args);
        }
    }
}
