#!/bin/sh
# t3013: `render: {template: chat}` end to end: a tiny sweep on sweeps/models/
# tiny-base with a tokenizer_config.json beside it whose ChatML-like chat_template
# uses a sweep variable, planned and run (built-in trainer and evaluator); the
# jobs get the template's variables, `vars` is in the contract (a change of them
# is a change of the sweep, and so is a change of the template, whose sha256 the
# plan freezes in the contract; a variable set there reaches the trainer's template),
# and a template whose full rendering does not start
# with the prompt's fails the run with that reason.
. "$(dirname "$0")/lib.sh"

# chat_sweep NAME RENDER TEMPLATE: NAME.yaml on a copy of tiny-base with TEMPLATE
# as its chat_template.
chat_sweep() {
    cp -r "$TOP/sweeps/data" . && mkdir -p models && cp -r "$TOP/sweeps/models/tiny-base" models/
    python3 - "$3" <<\PY
import json, sys
json.dump({"chat_template": sys.argv[1], "eos_token": "<|im_end|>", "bos_token": None},
          open("models/tiny-base/tokenizer_config.json", "w"))
PY
    cat >"$1.yaml" <<EOF_YAML
sweep: $1
base_model: models/tiny-base/model.safetensors
datasets:
  train: data/arith-train.jsonl
  valid: data/arith-valid.jsonl
  bench: data/arith-test.jsonl
$2
defaults: {adapter: lora, rank: 2, lr: 0.005, batch_size: 4, max_steps: 2, train_rows: 8,
           valid_rows: 4, eval_at: [end]}
grid: {seed: [0]}
evaluation: {dataset: bench, limit: 4, max_new_tokens: 4, extract: regex, pattern: "#### (-?[0-9.,]+)"}
EOF_YAML
}

CHATML='{% for m in messages %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% if mode is defined %}[{{ mode }}] {% endif %}{% endif %}'

test_body 'a sweep with render: {template: chat} plans, trains and evaluates' <<EOF
chat_sweep t3013 'render: {system: "Solve it.", template: chat, vars: {n: 3}}' '$CHATML'
mainline plan t3013.yaml >plan.out
run_rc 0 mainline run t3013
test "\$(sql "SELECT state FROM runs")" = done
test "\$(sql "SELECT count(*) FROM predictions")" -ge 4
python3 - <<\PY
import json
c = json.load(open("runs/t3013/main-seed-0/config.json"))
r = c["render"]
sha = r.pop("chat_template_sha256")
assert r == {"system": "Solve it.", "template": "chat", "vars": {"n": 3}}, c
import hashlib
t = json.load(open("models/tiny-base/tokenizer_config.json"))["chat_template"]
assert sha == hashlib.sha256(t.encode()).hexdigest(), sha
PY
sql "SELECT contract_json FROM sweeps" | python3 -c '
import json, sys
c = json.load(sys.stdin)
assert c["render"]["vars"] == {"n": 3}, c
'
sed "s/n: 3/n: 4/" t3013.yaml >t3013b.yaml
mainline plan --dry-run t3013.yaml >a.out
mainline plan --dry-run t3013b.yaml >b.out
refute test "\$(grep "contract sha256" a.out)" = "\$(grep "contract sha256" b.out)"
# a changed template is a changed plan: refused without --new-version
python3 - <<\PY
import json
p = "models/tiny-base/tokenizer_config.json"
t = json.load(open(p))
t["chat_template"] += "{# changed #}"
json.dump(t, open(p, "w"))
PY
run_rc 1 mainline plan t3013.yaml
grep -q "chat_template_sha256" err
EOF

test_body 'a template whose conversation does not start with its prompt fails the run' <<EOF
chat_sweep t3013c 'render: {template: chat, vars: {mode: thinking}}' '$CHATML'
mainline plan t3013c.yaml >plan.out
run_rc 1 mainline run t3013c
test "\$(sql "SELECT state FROM runs")" = failed
grep -q "does not start with its rendering of the prompt" runs/t3013c/main-seed-0/stderr.log
EOF

test_body 'no tokenizer_config.json beside the model: the plan is refused saying so' <<EOF
chat_sweep t3013d 'render: {template: chat}' '$CHATML'
rm models/tiny-base/tokenizer_config.json
run_rc 1 mainline plan t3013d.yaml
grep -q "t3013d.yaml:2:13: render.template chat: cannot open .*tokenizer_config.json" err
EOF

test_done
