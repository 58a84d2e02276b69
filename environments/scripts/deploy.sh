#!/bin/sh
# Example deploy for Sluice's exec adapter, run as `scripts/deploy.sh <digest>`
# from a checkout of the commit being applied, with SLUICE_ENV, SLUICE_APP,
# SLUICE_IMAGE, SLUICE_DIGEST, SLUICE_VERSION and SLUICE_COMMIT set (and
# SLUICE_WEIGHT for a canary step). Exit 0
# means applied. A real script would call kubectl, a cloud API, etc.; this one
# records what it "deployed" in $SLUICE_DEMO_STATE (default /tmp/sluice-demo-state).
set -eu

digest=${1:?usage: scripts/deploy.sh DIGEST}
state=${SLUICE_DEMO_STATE:-/tmp/sluice-demo-state}

echo "deploy: ${SLUICE_ENV}/${SLUICE_APP} ${SLUICE_VERSION} ${SLUICE_IMAGE}@${digest} (commit ${SLUICE_COMMIT})"

# The demo writes a digest to $state/fail-digest to show a failing deploy.
if [ -f "$state/fail-digest" ] && [ "$digest" = "$(cat "$state/fail-digest")" ]; then
  echo "deploy: ${SLUICE_ENV}/${SLUICE_APP}: rollout of ${digest} failed (simulated, see $state/fail-digest)" >&2
  exit 3
fi

mkdir -p "$state"
# A canary step (deploy.strategy) sends SLUICE_WEIGHT percent of the traffic
# to this release; 0 sends it all back to the release before.
echo "${SLUICE_ENV} ${SLUICE_APP} ${digest}${SLUICE_WEIGHT:+ weight $SLUICE_WEIGHT}" >> "$state/deploys.log"
echo "${digest} ${SLUICE_VERSION} ${SLUICE_COMMIT}" > "$state/${SLUICE_ENV}-${SLUICE_APP}.deployed"
echo "deploy: ${SLUICE_ENV}/${SLUICE_APP} is now ${digest}"
