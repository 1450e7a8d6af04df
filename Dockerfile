# The one image of conntrack-operator: the operator (CONNTRACK_ROLE=operator, the default here)
# and the agent (CONNTRACK_ROLE=agent, set by the DaemonSet the operator creates) from the
# Quarkus fast-jar that `./mvnw package` writes to target/quarkus-app/.
#
#   ./mvnw -B package -DskipTests
#   docker build -t registry.example.org/conntrack-operator:0.1.0 .
#
# Any OCI builder works the same way (podman build, buildah bud, kaniko). Both stages start from
# BASE_IMAGE (Debian bookworm slim); hack/image.sh builds this file with buildah on machines that
# reach no registry, from a local bookworm root file system imported under the same name.
ARG BASE_IMAGE=debian:bookworm-slim

# Stage 1: a Java runtime with only the JDK modules the two roles use (jdeps over every jar in
# target/quarkus-app, plus the modules that are only looked up at run time: jdk.crypto.ec for the
# TLS key exchange with the API server, jdk.naming.dns and jdk.zipfs). About 60 MB instead of the
# full JRE's ~200 MB. Running both roles in this image is what the *NodeTest tier does.
FROM ${BASE_IMAGE} AS jre
# The JDK's install script links its man pages; slim images have no /usr/share/man/man1.
RUN mkdir -p /usr/share/man/man1 \
    && apt-get update \
    && apt-get install -y --no-install-recommends openjdk-17-jdk-headless
# Debian's native libraries are stripped already; --strip-debug would need objcopy (binutils).
RUN jlink --output /opt/java --strip-java-debug-attributes --no-man-pages --no-header-files --compress=2 \
        --add-modules java.base,java.compiler,java.desktop,java.logging,java.management,java.naming,java.net.http,java.rmi,java.sql,java.transaction.xa,java.xml,jdk.httpserver,jdk.management,jdk.unsupported,jdk.crypto.ec,jdk.naming.dns,jdk.zipfs \
    && /opt/java/bin/java -Xshare:dump

# Stage 2: the image. nft for the agent's opt-in notrack rules (conntrack.notrack): it installs them
# in its own nftables table through `nft -f -`. The agent runs as root with hostNetwork and
# privileged (see below), which gives nft CAP_NET_ADMIN in the host's network namespace. conntrack
# (conntrack-tools) for kernels built without the procfs files: the agent's counters then come from
# `conntrack -S` (at most every 10 s) and its table listings from `conntrack -L`. No package lists,
# caches or apt/dpkg logs are kept.
FROM ${BASE_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends nftables conntrack \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log
COPY --from=jre /opt/java /opt/java
ENV JAVA_HOME=/opt/java \
    PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

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
