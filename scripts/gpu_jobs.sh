#!/usr/bin/env bash
# Run several `lacuna` commands at once on one GPU machine (how the shipped weights were trained).
#
#   scripts/gpu_jobs.sh JOBS_FILE OUT_DIR
#
# JOBS_FILE holds one job a line: NAME<TAB>COMMAND (run from the repo root with `python3 -m core.cli`).
# Each job's output goes to OUT_DIR/NAME.log; the script waits for all of them and prints a summary.
set -u
jobs_file=$1
out=$2
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
declare -A pids
while IFS=$'\t' read -r name cmd; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    echo "start $name: $cmd"
    bash -c "$cmd" >"$out/$name.log" 2>&1 &
    pids[$name]=$!
done <"$jobs_file"
status=0
for name in "${!pids[@]}"; do
    if wait "${pids[$name]}"; then echo "ok   $name"; else echo "FAIL $name"; status=1; fi
    tail -n 3 "$out/$name.log" | sed "s/^/  $name| /"
done
exit $status
