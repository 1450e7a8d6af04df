# The one image of conntrack-operator: the operator (CONNTRACK_ROLE=operator, the default here)
# and the agent (CONNTRACK_ROLE=agent, set by the DaemonSet the operator creates) from the
# Quarkus fast-jar that `./mvnw package` writes to target/quarkus-app/.
#
#   ./mvnw -B package -DskipTests
#   docker build -t registry.example.org/conntrack-operator:0.1.0 .
#
# Any OCI builder works the same way (podman build, buildah bud, kaniko).
FROM eclipse-temurin:17-jre

# nft for the agent's opt-in notrack rules (conntrack.notrack): it installs them in its own
# nftables table through `nft -f -`. The agent runs as root with hostNetwork and privileged (see
# below), which gives nft CAP_NET_ADMIN in the host's network namespace. conntrack (conntrack-tools)
# for kernels built without the procfs files: the agent's counters then come from `conntrack -S`
# (at most every 10 s) and its table listings from `conntrack -L`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends nftables conntrack \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /deployments
# Dependencies change less often than the application code: their own layers, copied first.
COPY --chown=185:0 target/quarkus-app/lib/ /deployments/lib/
COPY --chown=185:0 target/quarkus-app/quarkus-run.jar /deployments/
COPY --chown=185:0 target/quarkus-app/app/ /deployments/app/
COPY --chown=185:0 target/quarkus-app/quarkus/ /deployments/quarkus/

# Non-root by default: the operator needs no privilege (the chart runs it under the "restricted"
# Pod Security level). The agent must write /proc/sys as root: its DaemonSet sets runAsUser: 0 and
# privileged itself.
USER 185:0
ENV CONNTRACK_ROLE=operator
# Operator: health and metrics (Quarkus). Agent: metrics on the host network (CONNTRACK_METRICS_PORT).
EXPOSE 8080 9402

# JVM flags come from JDK_JAVA_OPTIONS, which the java launcher reads by itself (Java 9+): the
# chart sets it for the operator and the operator sets it for the agents. An exec-form entrypoint
# without a shell, so the JVM is PID 1 and gets SIGTERM directly; expanding the variable here as
# well would pass every flag twice.
ENTRYPOINT ["java", "-jar", "/deployments/quarkus-run.jar"]
