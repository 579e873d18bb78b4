#!/usr/bin/env bash
# The nightly run on a Docker Swarm (or this one machine's engine): N shards
# as a replicated job of the piv image, reports on a bind mount, then merged.
#
#   examples/nightly/swarm.sh N CONFIG_DIR REPORTS_DIR [piv run flags...]
#
# e.g. examples/nightly/swarm.sh 4 "$PWD/fixtures/apps" /srv/piv/nightly
#
# The task slot of a replicated job is 0-based and Docker renders slot 0 as
# the node ID in {{.Task.Slot}}: the shard is slot+1, or 1 when the slot is not
# a number. Each task exits 0 whatever the verdict: the verdict is in the
# reports, piv merge decides, and a failed task would only be run again (a
# second result for the same apps). Exit: piv merge's (0 pass, 1 fail, 3
# inconclusive). Runs `docker swarm init` if this engine is in no swarm, and
# then leaves it; the service and its containers are removed on exit.
#
# Environment: IMAGE (piv:latest), SERVICE (piv-nightly-PID), NETWORK (host: the nodes' 127.0.0.x
# addresses reachable), and secrets for the suites (passed through: QUOTE_TEST_PASSWORD).
set -euo pipefail
[[ $# -ge 3 ]] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
n=$1 cfg=$(cd "$2" && pwd) reports=$3
shift 3
image=${IMAGE:-piv:latest}
network=${NETWORK:-host}
mkdir -p "$reports" && reports=$(cd "$reports" && pwd)
chmod 0777 "$reports" # the image's user is uid 10001
service=${SERVICE:-piv-nightly-$$}
# One swarm.sh at a time on this engine: another run's `swarm leave --force`
# must not pull the swarm from under this one's job (bounded wait: 10 min).
exec 9>"${TMPDIR:-/tmp}/piv-swarm.lock"
flock -w 600 9 || { echo "swarm.sh: another swarm.sh holds the engine's swarm for 10 min" >&2; exit 3; }
own=0
if [[ $(docker info --format '{{.Swarm.LocalNodeState}}') != active ]]; then
	docker swarm init --advertise-addr 127.0.0.1 >/dev/null
	own=1
fi
cleanup() {
	docker service rm "$service" >/dev/null 2>&1 || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		ids=$(docker ps -aq --filter "label=com.docker.swarm.service.name=$service")
		[[ -z $ids ]] && break
		# shellcheck disable=SC2086
		docker rm -f $ids >/dev/null 2>&1 || true
		sleep 0.3
	done
	if [[ $own == 1 ]]; then docker swarm leave --force >/dev/null; fi
}
trap cleanup EXIT

# shellcheck disable=SC2016
task='case "$SLOT" in ""|*[!0-9]*) K=1 ;; *) K=$((SLOT + 1)) ;; esac
piv run --all --shard "$K/$SHARDS" "$@"; rc=$?
echo "swarm-shard: shard $K/$SHARDS: piv exit $rc (the merge decides)"
exit 0'
start=$(date +%s)
docker service create --detach --quiet --name "$service" --mode replicated-job --replicas "$n" \
	--restart-condition none --network "$network" \
	--mount "type=bind,source=$cfg,target=/config,readonly" --mount "type=bind,source=$reports,target=/work/reports" \
	--env SLOT='{{.Task.Slot}}' --env SHARDS="$n" ${QUOTE_TEST_PASSWORD:+--env QUOTE_TEST_PASSWORD} \
	--entrypoint sh "$image" -c "$task" swarm-shard --config /config "$@" >/dev/null
# Bounded wait: every task Complete (a Failed task means the task itself broke).
for ((i = 0; i < 7200; i++)); do
	states=$(docker service ps "$service" --format '{{.CurrentState}}')
	done_n=$(grep -c '^Complete' <<<"$states" || true)
	if grep -q '^Failed\|^Rejected' <<<"$states"; then
		docker service logs "$service" >&2 || true
		echo "swarm.sh: a shard task failed" >&2
		break
	fi
	[[ $done_n -ge $n ]] && break
	sleep 1
done
echo "swarm.sh: $n shards in $(($(date +%s) - start))s"
docker service logs --raw "$service" 2>/dev/null | grep '^swarm-shard:' || true
rc=0
docker run --rm -v "$cfg:/config:ro" -v "$reports:/reports" "$image" merge /reports --config /config --out /reports/merged || rc=$?
exit "$rc"
