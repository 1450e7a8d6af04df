#!/usr/bin/env bash
# The agent footprint benchmark with every JVM variant side by side in one run (one cluster, the
# variants one after the other). Same options as bench/agent-footprint.sh, e.g.
#   bash bench/agent-jvm-variants.sh [--window N] [--warmup N] [--only default,jdk25+coh] [--list]
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/agent-footprint.sh" --variants "$@"
