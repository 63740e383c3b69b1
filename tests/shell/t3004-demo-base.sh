#!/bin/sh
# t3004: the committed demo base model (sweeps/models/demo-base/) is the one its
# README describes: the sha256 of every file matches, it loads as a base model,
# on the validation rows its recipe regenerates it scores exactly the final
# validation NLL the README reports, and on scripts/make-probes.py's probes
# (copying numbers, sums) exactly the counts the README reports. (Retraining it bit
# for bit is `make base-model-check`: about an hour, so not part of make check.)
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
BASE="$TOP/sweeps/models/demo-base"
export TRAINER BASE

test_body 'the files and their sha256 are those of the README' <<\EOF
    ls "$BASE" >files
    printf 'README.md\nconfig.json\nmodel.safetensors\n' >expect
    test_cmp expect files
    for f in config.json model.safetensors; do
        want=$(sed -n "s/^| $f | \([0-9a-f]\{64\}\) |\$/\1/p" "$BASE/README.md")
        check_eq "sha256 of $f" "$want" "$(sha "$BASE/$f")"
    done
    want=$(sed -n 's/^sha256 (model.safetensors): //p' "$BASE/README.md")
    check_eq "sha256 line" "$want" "$(sha "$BASE/model.safetensors")"
    test "$(wc -c <"$BASE/model.safetensors")" -lt 5000000
    grep -q '"tokenizer": "bytes"' "$BASE/config.json"
EOF

test_body 'it loads and scores the README final validation NLL on its validation rows' <<\EOF
    python3 - "$TOP/scripts/demo-base.json" >args <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))["corpus"]
print(c["valid_rows"], c["valid_seed"], c["min_chars"])
PY
    read rows seed chars <args
    python3 "$TOP/scripts/make-pretrain-corpus.py" valid.jsonl --rows "$rows" --seed "$seed" \
        --min-chars "$chars"
    # one full fine-tuning step at lr 1e-30 changes no float: the validation after it
    # scores the committed weights
    cat >config.json <<X
{"params": {"full": true, "lr": 1e-30, "max_steps": 1, "batch_size": 16, "eval_at": ["end"]},
 "base_model": {"path": "$BASE"},
 "datasets": {"train": {"path": "valid.jsonl"}, "valid": {"path": "valid.jsonl"}}}
X
    run_rc 0 "$TRAINER" --config config.json --run-dir . --threads 2
    got=$(grep '"event":"val"' metrics.jsonl | sed 's/.*"nll":\([^,]*\),.*/\1/')
    want=$(sed -n 's/^final validation NLL: //p' "$BASE/README.md")
    check_eq "validation NLL" "$want" "$(printf '%.6f' "$got")"
EOF

test_body 'it completes the README probe counts (copying numbers, sums)' <<\EOF
    python3 "$TOP/scripts/make-probes.py" probes
    case "${BINDIR:-bin}" in
    /*) evaluator=${BINDIR}/mainline-eval ;;
    *) evaluator=$TOP/${BINDIR:-bin}/mainline-eval ;;
    esac
    for p in arith boxes ages roster; do   # (not $want: run_rc sets it)
        said=$(sed -n "s/^| $p | .* | \([0-9]*\/[0-9]*\) |\$/\1/p" "$BASE/README.md")
        run_rc 0 "$evaluator" --complete "probes/probe-$p.jsonl" --base-model "$BASE" \
            --threads 2
        got=$(sed 's/.*"n":\([0-9]*\),"correct":\([0-9]*\),.*/\2\/\1/' out)
        check_eq "probe $p" "$said" "$got"
    done
EOF

test_done
