#!/bin/sh
# demo.sh - `make demo`: what mainline can do end to end today, for real.
# Today that is planning: seed 001's sweep is validated, expanded into runs,
# every file it uses is hashed, and it is all recorded in a registry you can
# query with sqlite3. `mainline run` works, but this sweep uses the built-in
# trainer and evaluator, which are not built yet; this script says so instead of
# pretending.
set -e
cd "$(dirname "$0")/.."
db=${DEMO_REGISTRY:-demo.db}
rm -f "$db" "$db-wal" "$db-shm"
echo "== mainline plan sweeps/lora-attn-vs-all.yaml"
bin/mainline --registry "$db" plan sweeps/lora-attn-vs-all.yaml
echo
echo "== mainline status"
bin/mainline --registry "$db" status
echo
echo "== mainline runs --where 'condition=all_layer stage=main'"
bin/mainline --registry "$db" runs --where 'condition=all_layer stage=main'
echo
echo "== sqlite3 $db 'select stage, runs, waiting, planned from v_stage_summary'"
sqlite3 -header -column "$db" 'select stage, runs, waiting, planned from v_stage_summary'
echo
echo "The registry is $db. 'mainline run lora-attn-vs-all' needs the built-in trainer"
echo "and evaluator (mainline-train, mainline-eval), which are not built yet. mainline run"
echo "itself works today with any trainer that speaks docs/protocol.md."
