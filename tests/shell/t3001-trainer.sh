#!/bin/sh
# t3001: bin/mainline-train run directly, with a config.json written by hand as
# docs/protocol.md describes: a LoRA run's events and PEFT files; full fine-tuning
# overfits four examples; partial fine-tuning trains exactly its tensors; two runs
# write identical bytes; a run killed with SIGKILL (or stopped by SIGTERM) and
# resumed ends bitwise where an uninterrupted run ends; SIGUSR1 (a time limit near)
# checkpoints, exits 5 and resumes to the same bits; retention; exit statuses
# 2, 3 and 4; and on llama2.c's stories260K (skipped where absent: lib.sh) LoRA
# learns a pattern and a TinyStories sentence costs a few nats per token.
. "$(dirname "$0")/lib.sh"

case "${BINDIR:-bin}" in
/*) TRAINER=${TRAINER:-${BINDIR}/mainline-train} ;;
*) TRAINER=${TRAINER:-$TOP/${BINDIR:-bin}/mainline-train} ;;
esac
TINY="$TOP/sweeps/models/tiny-base/model.safetensors"
ARITH_TRAIN="$TOP/sweeps/data/arith-train.jsonl"
ARITH_VALID="$TOP/sweeps/data/arith-valid.jsonl"
export TRAINER TINY ARITH_TRAIN ARITH_VALID STORIES

# config PARAMS [TRAIN [VALID [MODEL]]]: ./config.json with these params (a JSON
# object's members), the arithmetic data and tiny-base unless given.
config() {
    cat >config.json <<EOF
{"protocol": 1, "sweep": "t3001", "run": "r", "attempt": 1, "resume": false,
 "params": {$1},
 "base_model": {"path": "${4:-$TINY}"},
 "datasets": {"train": {"path": "${2:-$ARITH_TRAIN}"}, "valid": {"path": "${3:-$ARITH_VALID}"}}}
EOF
}

train() {
    "$TRAINER" --config config.json --run-dir . --threads 1 "$@"
}

# events KIND FIELD: FIELD of every KIND event in ./metrics.jsonl, one a line
# (numbers and null; the lines are compact JSON, "event" first).
events() {
    grep "^{\"event\":\"$1\"" metrics.jsonl | sed -n "s/.*[{,]\"$2\":\([^,}]*\).*/\1/p"
}

# st_header FILE: "name dtype shape" per tensor of a safetensors file, sorted by
# name, after checking that the data offsets tile the data section exactly.
st_header() {
    python3 - "$1" <<'PY'
import json, os, struct, sys
path = sys.argv[1]
with open(path, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    head = json.loads(f.read(n))
spans = []
for name in sorted(k for k in head if k != "__metadata__"):
    t = head[name]
    count = 1
    for d in t["shape"]:
        count *= d
    a, b = t["data_offsets"]
    assert t["dtype"] == "F32" and b - a == 4 * count, name
    spans.append((a, b))
    print(name, t["dtype"], "x".join(map(str, t["shape"])))
spans.sort()
assert spans[0][0] == 0 and all(x[1] == y[0] for x, y in zip(spans, spans[1:]))
assert spans[-1][1] == os.path.getsize(path) - 8 - n
PY
}

# less A B: the number A is below the number B.
less() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a + 0 < b + 0) }'
}

# wait_for SECONDS TEXT: poll ./metrics.jsonl until a line has TEXT.
wait_for() {
    tries=$(($1 * 100))
    until grep -qF "$2" metrics.jsonl 2>/dev/null; do
        tries=$((tries - 1))
        [ "$tries" -gt 0 ] || { echo "no line with $2 after $1 s"; return 1; }
        sleep 0.01
    done
}

test_body 'a LoRA run: exit 0, every event, PEFT files, validation NLL goes down' <<\EOF
    config '"adapter": "lora", "rank": 4, "alpha": 8, "lr": 0.01, "seed": 1,
            "targets": ["q_proj", "v_proj", "down_proj"], "layers": [1], "batch_size": 8,
            "train_rows": 96, "valid_rows": 24, "epochs": 2, "report_every": 4,
            "eval_at": [2, {"every": 6}, "end"], "keep": "all"'
    run_rc 0 train
    cat out
    for e in start train val checkpoint done; do
        grep -q "^{\"event\":\"$e\"" metrics.jsonl
    done
    check_eq "val steps" "2 6 12 18 24" "$(events val step | xargs)"
    check_eq "checkpoint steps" "2 6 12 18 24" "$(events checkpoint step | xargs)"
    check_eq "report steps" "4 8 12 16 20 24" "$(events train step | xargs)"
    check_eq "start" "24 96" "$(events start total_steps) $(events start examples)"
    check_eq "val tokens" "$(events val tokens | sed -n 1p)" "$(events val tokens | sed -n '$p')"
    for f in loss lr tokens tok_per_s elapsed peak_rss_mb; do
        test "$(events train "$f" | grep -c '^[0-9]')" -eq 6
    done
    first=$(events val nll | sed -n 1p)
    last=$(events val nll | sed -n '$p')
    echo "validation NLL $first -> $last"
    less "$last" "$first"
    grep -q '"event":"done","steps":24,"best_val_nll":' metrics.jsonl
    grep -q "trainable parameters: " out
    grep -q "^blas: OpenBLAS core [A-Za-z0-9]*, 1 thread " out
    grep -q '"blas_core":"' metrics.jsonl
    ls checkpoints >dirs
    printf 'step-%s\n' 12 18 2 24 6 >expect
    test_cmp expect dirs
    st_header checkpoints/step-24/adapter_model.safetensors >names
    cat >expect <<X
base_model.model.model.layers.1.mlp.down_proj.lora_A.weight F32 4x64
base_model.model.model.layers.1.mlp.down_proj.lora_B.weight F32 32x4
base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight F32 4x32
base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight F32 32x4
base_model.model.model.layers.1.self_attn.v_proj.lora_A.weight F32 4x32
base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight F32 16x4
X
    test_cmp expect names
    python3 - <<'PY'
import json, os
c = json.load(open("checkpoints/step-24/adapter_config.json"))
want = {"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4, "lora_alpha": 8,
        "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj", "down_proj"],
        "layers_to_transform": [1], "bias": "none",
        "base_model_name_or_path": os.environ["TINY"]}
for k, v in want.items():
    assert c[k] == v, (k, c[k], v)
PY
    test -f checkpoints/step-24/trainer_state.safetensors
    test ! -e checkpoints/step-24/model.safetensors
EOF

test_body 'full fine-tuning drives the train loss of four examples near zero' <<\EOF
    cat >four.jsonl <<X
{"prompt": "2 + 3 =", "completion": " 5"}
{"prompt": "Name a red fruit:", "completion": " apple"}
{"prompt": "Capital of France?", "completion": " Paris"}
{"prompt": "Opposite of up:", "completion": " down"}
X
    config '"full": true, "lr": 0.01, "warmup_steps": 5, "batch_size": 4, "max_steps": 100,
            "report_every": 25, "eval_at": ["end"]' "$PWD/four.jsonl" "$PWD/four.jsonl"
    run_rc 0 train
    cat out
    check_eq "trainable" 26912 "$(events start trainable_params)"
    check_eq "percent" 100.0 "$(events start trainable_pct)"
    first=$(events train loss | sed -n 1p)
    last=$(events train loss | sed -n '$p')
    echo "train loss $first -> $last"
    less "$last" 0.05
    less "$(events val nll)" 0.05
    st_header checkpoints/step-100/model.safetensors | wc -l >count
    echo 20 >expect   # tied: embed_tokens is the lm_head
    test_cmp expect count
EOF

test_body 'partial fine-tuning [norm, {blocks: {last: 1}}] trains and saves exactly those' <<\EOF
    config '"train": ["norm", {"blocks": {"last": 1}}], "lr": 0.01, "train_rows": 16,
            "valid_rows": 8, "batch_size": 8, "max_steps": 3'
    run_rc 0 train
    check_eq "trainable" 9376 "$(events start trainable_params)"
    d=checkpoints/step-3
    ls "$d" >files
    printf '%s\n' model.safetensors trained_tensors.json trainer_state.safetensors >expect
    test_cmp expect files
    python3 -c 'import json, sys
print("\n".join(sorted(json.load(open(sys.argv[1]))["tensors"])))' "$d/trained_tensors.json" >listed
    cat >expect <<X
model.layers.0.input_layernorm.weight
model.layers.0.post_attention_layernorm.weight
model.layers.1.input_layernorm.weight
model.layers.1.mlp.down_proj.weight
model.layers.1.mlp.gate_proj.weight
model.layers.1.mlp.up_proj.weight
model.layers.1.post_attention_layernorm.weight
model.layers.1.self_attn.k_proj.weight
model.layers.1.self_attn.o_proj.weight
model.layers.1.self_attn.q_proj.weight
model.layers.1.self_attn.v_proj.weight
model.norm.weight
X
    test_cmp expect listed
    st_header "$d/model.safetensors" | cut -d' ' -f1 >saved
    test_cmp expect saved
    st_header "$d/model.safetensors" | grep -q '^model.layers.1.mlp.down_proj.weight F32 32x64$'
    st_header "$d/model.safetensors" | grep -q '^model.norm.weight F32 32$'
EOF

PARAMS_RESUME='"adapter": "lora", "rank": 4, "dropout": 0.1, "targets": ["all-linear"],
               "lr": 0.005, "warmup_steps": 5, "batch_size": 8, "micro_batch_size": 3,
               "epochs": 3, "eval_at": [{"every": 10}], "report_every": 5, "seed": 7,
               "train_rows": 120, "valid_rows": 24,
               "weight_decay": 0.01'
export PARAMS_RESUME

test_body 'two identical runs write byte-identical checkpoints' <<\EOF
    mkdir a b
    (cd a && config "$PARAMS_RESUME" && train >out)
    (cd b && config "$PARAMS_RESUME" && train >out)
    ls a/checkpoints/step-45 >files
    test "$(wc -l <files)" -eq 3
    diff -r a/checkpoints b/checkpoints
EOF

test_body 'killed with SIGKILL after its first checkpoint, resumed: bitwise the same end' <<\EOF
    mkdir full killed
    (cd full && config "$PARAMS_RESUME" && train >out)
    cd killed
    config "$PARAMS_RESUME"
    "$TRAINER" --config config.json --run-dir . --threads 1 >out1 2>&1 &
    pid=$!
    wait_for 60 '"event":"checkpoint"'
    wait_for 60 '"event":"train","step":15,'
    kill -9 "$pid"   # somewhere in step 16 or a little later
    wait "$pid" || :
    echo "killed after: $(tail -n 1 metrics.jsonl)"
    refute grep -q '"event":"done"' metrics.jsonl   # it really was cut short
    run_rc 0 train --resume
    cat out
    from=$(events start resumed_from | sed -n '$p')
    echo "resumed from step $from"
    test "$from" -ge 10
    test "$(events start resumed_from | sed -n 1p)" -eq 0   # metrics.jsonl was appended to
    test "$(events done steps)" -eq 45
    ls ../full/checkpoints >expect
    ls checkpoints >dirs
    test_cmp expect dirs                 # best+last: the same two survive
    diff -r ../full/checkpoints checkpoints
    cmp ../full/checkpoints/step-45/adapter_model.safetensors \
        checkpoints/step-45/adapter_model.safetensors
EOF

test_body 'SIGTERM stops it cleanly (exit 143); MAINLINE_RESUME=1 continues' <<\EOF
    config "$PARAMS_RESUME"
    "$TRAINER" --config config.json --run-dir . --threads 1 >out1 2>err1 &
    pid=$!
    wait_for 60 '"event":"checkpoint"'
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    cat err1
    test "$rc" -eq 143
    tail -n 1 metrics.jsonl | grep -q '^{"event":"cancelled","step":[0-9]*}$'
    grep -q "stopped by a signal" err1
    MAINLINE_RESUME=1 "$TRAINER" --config config.json --run-dir . --threads 1 >out2
    test "$(events done steps)" -eq 45
EOF

test_body 'SIGUSR1: checkpoint, "stopped" event, exit 5; resumed: bitwise the same end' <<\EOF
    mkdir full usr1
    (cd full && config "$PARAMS_RESUME" && train >out)
    cd usr1
    config "$PARAMS_RESUME"
    "$TRAINER" --config config.json --run-dir . --threads 1 >out1 2>err1 &
    pid=$!
    wait_for 60 '"event":"train","step":5,'
    kill -USR1 "$pid"   # in step 6 or a little later
    rc=0
    wait "$pid" || rc=$?
    cat err1
    test "$rc" -eq 5
    grep -q "stopped for the time limit" err1
    tail -n 2 metrics.jsonl
    step=$(events stopped step)
    echo "stopped at step $step"
    test "$step" -ge 5
    test "$step" -lt 45
    check_eq "last line" "{\"event\":\"stopped\",\"reason\":\"time_limit\",\"step\":$step}" \
        "$(tail -n 1 metrics.jsonl)"
    # its checkpoint is the one before the stop, complete, whatever the step
    grep "^{\"event\":\"checkpoint\"" metrics.jsonl | tail -n 1 |
        grep -q "^{\"event\":\"checkpoint\",\"step\":$step,\"path\":\"checkpoints/step-$step\","
    test -f "checkpoints/step-$step/trainer_state.safetensors"
    refute grep -q '"event":"done"' metrics.jsonl
    refute grep -q '"event":"error"' metrics.jsonl
    run_rc 0 train --resume
    test "$(events start resumed_from | sed -n '$p')" -eq "$step"
    test "$(events done steps)" -eq 45
    ls ../full/checkpoints >expect
    ls checkpoints >dirs
    test_cmp expect dirs                 # best+last: step-$step went with the next checkpoint
    diff -r ../full/checkpoints checkpoints
    cmp ../full/checkpoints/step-45/adapter_model.safetensors \
        checkpoints/step-45/adapter_model.safetensors
EOF

test_body 'keep: best+last, best, last and all leave exactly those checkpoints' <<\EOF
    # memorizing four answers makes the NLL of four other answers to the same
    # prompts fall, then rise: the best checkpoint is not the last
    cat >four.jsonl <<X
{"prompt": "2 + 3 =", "completion": " 5"}
{"prompt": "Name a red fruit:", "completion": " apple"}
{"prompt": "Capital of France?", "completion": " Paris"}
{"prompt": "Opposite of up:", "completion": " down"}
X
    sed -e 's/ 5"/ 7"/' -e 's/apple/cherry/' -e 's/Paris/Lyon/' -e 's/down/left/' four.jsonl \
        >other.jsonl
    for keep in best+last best last all; do
        mkdir "$keep" && cd "$keep"
        config "\"full\": true, \"lr\": 0.01, \"warmup_steps\": 5, \"batch_size\": 4,
                \"max_steps\": 60, \"eval_at\": [{\"every\": 5}], \"keep\": \"$keep\"" \
               "$PWD/../four.jsonl" "$PWD/../other.jsonl"
        run_rc 0 train
        python3 - "$keep" >expect <<'PY'
import json, sys
vals = [json.loads(l) for l in open("metrics.jsonl")]
vals = [(e["step"], e["nll"]) for e in vals if e["event"] == "val"]
best = min(vals, key=lambda v: (v[1], v[0]))[0]
last = vals[-1][0]
assert best < last, (best, last)
keep = {"best+last": {best, last}, "best": {best, last}, "last": {last},
        "all": {s for s, _ in vals}}[sys.argv[1]]
print("%s: best %d, last %d" % (sys.argv[1], best, last), file=sys.stderr)
print("\n".join("step-%d" % s for s in sorted(keep)))
PY
        ls checkpoints | sort -t- -k2 -n >dirs
        test_cmp expect dirs
        cd ..
    done
    test "$(ls all/checkpoints | wc -l)" -eq 12
    test "$(ls last/checkpoints)" = step-60
EOF

test_body 'bad configuration: exit 2 with a message naming the key, file or line' <<\EOF
    config '"rank": 0'
    run_rc 2 train
    grep -q "^error: .*config.json: params.rank: must be an integer >= 1, not 0$" err
    config '"rnak": 8'
    run_rc 2 train
    grep -q "params.rnak: unknown parameter (did you mean 'rank'?)" err
    config '"layers": [5]'
    run_rc 2 train
    grep -q "params.layers: lora layer index out of range (the model has 2 layers)" err
    config '"max_seq_len": 1000'
    run_rc 2 train
    grep -q "params.max_seq_len: 1000 is more than the model's 256 positions" err
    printf '{"prompt": "a", "completion": "b"}\n{"answer": 4}\n' >bad.jsonl
    config '' "$PWD/bad.jsonl"
    run_rc 2 train
    grep -q "bad.jsonl:2: the row has none of" err
    echo '{"params": ' >config.json
    run_rc 2 train
    run_rc 2 "$TRAINER" --confg config.json
    grep -q "unknown option '--confg'" err
    # resuming a checkpoint of other parameters
    config '"lr": 0.01, "max_steps": 2, "train_rows": 16, "valid_rows": 4'
    run_rc 0 train
    config '"lr": 0.02, "max_steps": 2, "train_rows": 16, "valid_rows": 4'
    run_rc 2 train --resume
    grep -q "cannot resume: .*step-2/trainer_state.safetensors: made by a run with other" err
    tail -n 1 metrics.jsonl | grep -q '^{"event":"error","message":"cannot resume: '
EOF

test_body 'unreadable inputs: exit 4' <<\EOF
    config '' "$PWD/missing.jsonl"
    run_rc 4 train
    grep -q "cannot open '.*missing.jsonl'" err
    config '' "$ARITH_TRAIN" "$ARITH_VALID" "$PWD/missing.safetensors"
    run_rc 4 train
    run_rc 4 "$TRAINER" --config "$PWD/nothing.json" --run-dir . --threads 1
EOF

test_body 'a loss that becomes infinite: {"event":"diverged"}, exit 3' <<\EOF
    config '"full": true, "lr": 1e12, "grad_clip": 0, "train_rows": 16, "batch_size": 4,
            "max_steps": 20'
    run_rc 3 train
    tail -n 2 metrics.jsonl
    grep -q '^{"event":"diverged","step":[0-9]*}$' metrics.jsonl
    refute grep -q '"event":"done"' metrics.jsonl
EOF

# Sixteen TinyStories-like sentences about a robot stories260K has never met.
zorbo_stories() {
    python3 - <<'PY'
import json
s = [
"Once upon a time, there was a little robot named Zorbo. Zorbo liked to play in the park.",
"One day, Zorbo the robot found a red ball. Zorbo was very happy and played with it all day.",
"Zorbo the robot had a friend named Lily. Lily and Zorbo liked to share their toys.",
"Once upon a time, Zorbo the robot went to the sea. Zorbo saw a big fish and said hello.",
"Zorbo the robot liked to help his mom. He cleaned the house and made it shiny.",
"One day, Zorbo the robot was sad. His friend Tom gave him a hug and Zorbo smiled.",
"Once upon a time, Zorbo the robot saw a little bird. Zorbo helped the bird fly home.",
"Zorbo the robot loved to eat cake. One day, he ate a big cake with his friends.",
"Zorbo the robot went to the forest. He saw a bear and they became good friends.",
"Once upon a time, Zorbo the robot found a shiny key. Zorbo opened a big box with it.",
"Zorbo the robot liked to sing. Every night, Zorbo sang a song to the moon.",
"One day, Zorbo the robot fell down. Lily helped him up and Zorbo said thank you.",
"Once upon a time, Zorbo the robot went to the park with Ben. They played all day.",
"Zorbo the robot saw a cat in a tree. Zorbo helped the cat come down.",
"One day, Zorbo the robot made a new friend. Her name was Sue and she liked to dance.",
"Zorbo the robot was very tired. He went to bed and had a happy dream.",
]
with open("train.jsonl", "w") as f:
    f.writelines(json.dumps({"text": x}) + "\n" for x in s[:12])
with open("valid.jsonl", "w") as f:
    f.writelines(json.dumps({"text": x}) + "\n" for x in s[12:])
PY
}

if have_stories "stories260K: LoRA learning, the NLL of a sentence"; then
test_body 'stories260K: LoRA learns the stories (validation NLL falls)' <<\EOF
    zorbo_stories
    config '"adapter": "lora", "rank": 8, "alpha": 16, "targets": ["all-linear"], "lr": 0.005,
            "warmup_steps": 2, "batch_size": 4, "epochs": 4, "eval_at": [1, "epoch"],
            "seed": 1' "$PWD/train.jsonl" "$PWD/valid.jsonl" "$STORIES"
    run_rc 0 train
    cat out
    first=$(events val nll | sed -n 1p)
    last=$(events val nll | sed -n '$p')
    echo "validation NLL at step 1: $first, at the end: $last"
    less "$last" "$(awk -v f="$first" 'BEGIN { print f * 0.7 }')"
    grep -q "^{\"event\":\"checkpoint\",\"step\":12," metrics.jsonl
EOF

test_body 'stories260K: a TinyStories sentence costs a few nats per token, not ln(512)' <<\EOF
    zorbo_stories
    echo '{"text": "Once upon a time, there was a little girl named Lily."}' >lily.jsonl
    config '"lr": 1e-9, "max_steps": 1, "batch_size": 4' "$PWD/train.jsonl" "$PWD/lily.jsonl" \
        "$STORIES"
    run_rc 0 train
    nll=$(events val nll)
    echo "NLL of the sentence: $nll nats per token (ln 512 = 6.24)"
    less "$nll" 3
    less 0.2 "$nll"
EOF
fi

test_done
