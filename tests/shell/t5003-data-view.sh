#!/bin/sh
# t5003: `mainline data render` shows exactly what the model sees for a row
# (prompt and completion marked, token counts of the base model's tokenizer);
# `mainline data stats` gives exact counts on a small fixed file, overall and per
# source, with truncation at max_seq_len; errors name file and line.
. "$(dirname "$0")/lib.sh"

# A sweep on tiny-base (byte tokenizer: one token per byte, plus BOS and EOS).
setup() {
    cp -r "$TOP/sweeps/models" .
    # prompt "aaaa" renders as "aaaa\n" (plain): tokens = 1 + 5 + len(completion) + 1
    cat >fixed.jsonl <<\EOF
{"q": "aaaa", "s": "abc", "src": "s1"}
{"q": "aaaa", "s": "abcdefghijklm", "src": "s1"}

{"q": "aaaa", "s": "abcdefghijklmnopqrstuvw", "src": "s2"}
{"q": "aaaa", "s": "abcdefghijklmnopqrstuvwxyz0123456", "src": "s2"}
EOF
    cat >s.yaml <<\EOF
sweep: s
base_model: models/tiny-base/model.safetensors
datasets:
  train: {path: fixed.jsonl, fields: {prompt: q, completion: s, source: src}}
defaults: {max_seq_len: 25}
grid: {seed: [0]}
EOF
}

test_body 'stats: exact counts, percentiles, truncation, per source' <<\EOF
setup
mainline data stats fixed.jsonl --sweep s.yaml >out
cat >want <<\EOW
fixed.jsonl: dataset train, template plain, system prompt none
tokens of BOS + prompt + completion + EOS, tokenizer of models/tiny-base/model.safetensors; max_seq_len 25

SOURCE  ROWS  MEAN  P50  P90  P95  MAX  TRUNCATED
s1         2  15.0   10   20   20   20          0
s2         2  35.0   30   40   40   40          2
all        4  25.0   20   40   40   40          2

100 tokens in all; 80 within max_seq_len (what one epoch trains on)
EOW
test_cmp want out
mainline data stats fixed.jsonl --sweep s.yaml --max-seq-len 35 >out
grep -q "^all        4  25.0   20   40   40   40          1$" out
EOF

test_body 'render: the row exactly as the model sees it, marked' <<\EOF
setup
sed -i 's/^grid/render: {system: "Be exact.", template: chatml}\ngrid/' s.yaml
mainline data render fixed.jsonl --sweep s.yaml --row 2 >out
cat >want <<\EOW
fixed.jsonl: dataset train, template chatml, system prompt set
row 2 of 4 (line 2), source s1

== prompt: not learned (94 tokens with BOS) ==
| <|im_start|>system
| Be exact.<|im_end|>
| <|im_start|>user
| aaaa<|im_end|>
| <|im_start|>assistant
|
== completion: learned (24 tokens with EOS) ==
| abcdefghijklm<|im_end|>
== end: 118 tokens ==
EOW
test_cmp want out
EOF

test_body 'errors: a row that does not render, a missing row, a bad sweep' <<\EOF
setup
echo '{"q": "x"}' >>fixed.jsonl
run_rc 1 mainline data stats fixed.jsonl --sweep s.yaml
grep -q "^error: fixed.jsonl:6: the row has no string \"s\" (fields.completion)$" err
run_rc 1 mainline data render fixed.jsonl --sweep s.yaml --row 9
grep -q "^error: fixed.jsonl has 5 rows, not 9$" err
echo 'oops: 1' >>s.yaml
run_rc 1 mainline data stats fixed.jsonl --sweep s.yaml
grep -q "^error: s.yaml:7:1: unknown key 'oops'" err
run_rc 129 mainline data stats fixed.jsonl
run_rc 129 mainline data render fixed.jsonl --sweep s.yaml --row 0
EOF

test_done
