#!/usr/bin/env bash
# Before/after figures for the established pipeline, side by side in one session: runs the
# criterion `pipeline` bench binaries given (one per step, oldest first) in turn, ROUNDS
# rounds, alternating, so that a noisy neighbour or a thermal change hits every step alike;
# prints each step's median throughput per table size and its ratio to the first step.
#
# usage: scripts/bench-steps.sh NAME=BIN [NAME=BIN ...]
#   env: ROUNDS=3  FILTER='established_pipeline/batch_32/'  (a criterion filter)
#        SESSMGR_BENCH_MAX_SESSIONS=N  (cap the table sizes for a quick run)
# Make a step's binary with `cargo bench --bench pipeline --no-run` at that commit (in a
# worktree with its own target dir) and copy target/release/deps/pipeline-HASH somewhere.
set -euo pipefail
ROUNDS=${ROUNDS:-3}
FILTER=${FILTER:-established_pipeline/batch_32/}
[ $# -ge 1 ] || { sed -n 2,10p "$0"; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
names=()
for arg in "$@"; do names+=("${arg%%=*}"); done
for round in $(seq 1 "$ROUNDS"); do
    for arg in "$@"; do
        name=${arg%%=*} bin=${arg#*=}
        echo "round $round: $name" >&2
        # criterion prints "<id>\n  time: [..]\n  thrpt: [low median high]"; keep id + median.
        "$bin" --bench "$FILTER" 2>"$out/$name.$round.err" |
            awk '/^[a-z_]+\/[a-z_0-9]+\/[0-9]+/ {id=$1}
                 /thrpt:/ && id != "" {for (i=1;i<=NF;i++) if ($i ~ /^\[/) {print id, $(i+2), $(i+3); break}; id=""}' \
                >>"$out/$name.tsv"
        grep -h "RSS growth" "$out/$name.$round.err" >>"$out/$name.mem" || true
    done
done
# Median over rounds, per step and benchmark id, in Melem/s.
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ids=$(awk '{print $1}' "$out/${names[0]}.tsv" | sort -u -t/ -k3,3n)
printf '%-48s' "benchmark (median of $ROUNDS, Melem/s)"
for n in "${names[@]}"; do printf '%14s' "$n"; done
printf '%s\n' "   ratio last/first"
for id in $ids; do
    printf '%-48s' "$id"
    first="" last=""
    for n in "${names[@]}"; do
        v=$(awk -v id="$id" '$1==id { v=$2; if ($3=="Kelem/s") v/=1000; if ($3=="Gelem/s") v*=1000; print v }' \
            "$out/$n.tsv" | median)
        printf '%14s' "${v:--}"
        [ -z "$first" ] && first=$v
        last=$v
    done
    if [ -n "$first" ] && [ -n "$last" ]; then
        awk -v a="$first" -v b="$last" 'BEGIN { printf "   %.2fx\n", b / a }'
    else
        echo
    fi
done
echo
echo "memory (as each binary reports it; before issue #15 the index was not counted):"
for n in "${names[@]}"; do
    sort -u "$out/$n.mem" | sed "s/^/  $n: /"
done
