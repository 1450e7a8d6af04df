package dev.conntrack.operator;

import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.QuarkusApplication;
import jakarta.inject.Inject;

/** The operator role: starts the reconcilers (the build does not auto-start them) and waits. */
public class OperatorApplication implements QuarkusApplication {

    @Inject
    Operator operator;

    @Override
    public int run(String... args) {
        operator.start();
        Quarkus.waitForExit();
        return 0;
    }
}
