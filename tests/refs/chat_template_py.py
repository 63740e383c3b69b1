#!/usr/bin/env python3
"""chat_template_py.py - t3011's second reference: Python's jinja2, the engine
transformers' apply_chat_template runs, set up as transformers sets it up
(an ImmutableSandboxedEnvironment with trim_blocks and lstrip_blocks, the
loopcontrols extension, its own tojson, raise_exception and strftime_now).

    chat_template_py.py TOKENIZER_CONFIG CASES.jsonl

One JSON line per case: {"text": ...} or {"error": ...}. The variables are those of
chat-template.mjs (the JavaScript reference): messages, tools (None when absent),
documents (None), add_generation_prompt, continue_final_message (False), the
config's special tokens, then the case's vars."""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def main():
    config_path, cases_path = sys.argv[1:3]
    tc = json.load(open(config_path, encoding="utf-8"))
    source = tc["chat_template"]
    if isinstance(source, list):
        source = next(t["template"] for t in source if t["name"] == "default")
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    template = env.from_string(source)
    specials = {}
    for name in ("bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                 "mask_token"):
        t = tc.get(name)
        if isinstance(t, dict):
            t = t.get("content")
        if isinstance(t, str):
            specials[name] = t
    out = []
    for line in open(cases_path, encoding="utf-8"):
        if not line.strip():
            continue
        c = json.loads(line)
        variables = dict(specials)
        variables.update(messages=c["messages"], tools=c.get("tools"), documents=None,
                         add_generation_prompt=bool(c.get("add_generation_prompt")),
                         continue_final_message=False)
        variables.update(c.get("vars") or {})
        try:
            out.append({"text": template.render(**variables)})
        except jinja2.exceptions.TemplateError as e:
            out.append({"error": str(e)})
    sys.stdout.write("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in out))


if __name__ == "__main__":
    main()
