#!/usr/bin/env python3
"""modelfile-check.py MODELFILE RENDERED SYSTEM STOPS_JSON NUM_PREDICT

Reads an Ollama Modelfile the way Ollama's documented grammar does (written here from
its Modelfile reference and parser: an instruction name, spaces, a value; a value in
"..." or \"\"\"...\"\"\" is taken as it is, newlines included, no escapes; # starts a comment
line), checks that FROM names a file beside it, that TEMPLATE (Go template syntax: only
{{ if .System }}...{{ end }}, {{ .System }} and {{ .Prompt }} are used) expands, for
SYSTEM and the user text of a row, to exactly the prompt `mainline data render` shows
(RENDERED: its output), and that SYSTEM, the stop parameters, num_predict and
temperature 0 are what the sweep declared. Ollama itself is not run.
"""
import json
import os
import re
import sys


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def unquote(v):
    if v.startswith('"""'):
        return (v[3:-3], True) if len(v) >= 6 and v.endswith('"""') else (None, False)
    if v.startswith('"'):
        return (v[1:-1], True) if len(v) >= 2 and v.endswith('"') else (None, False)
    return v, True


def parse(text):
    cmds, i, n = [], 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        m = re.match(r"[A-Za-z]+", text[i:])
        if not m:
            fail(f"an instruction must start with a letter at byte {i}")
        name = m.group(0).lower()
        i += len(name)
        if name not in ("from", "template", "system", "parameter", "license", "adapter",
                        "message"):
            fail(f"unknown instruction {name!r}")
        if name == "parameter":
            i += 1
            m = re.match(r"[A-Za-z0-9_]+", text[i:])
            name = m.group(0)
            i += len(name)
        if i >= n or text[i] not in " \t":
            fail(f"{name}: no space before its value")
        i += 1
        # the value ends at a space or newline where it unquotes
        start = i
        while True:
            if i >= n:
                v, ok = unquote(text[start:i].strip())
                if not ok:
                    fail(f"{name}: unterminated value")
                break
            if text[i] in " \t\r\n":
                v, ok = unquote(text[start:i].strip())
                if ok:
                    break
            i += 1
        cmds.append((name, v))
    return cmds


def expand(tmpl, system, prompt):
    if re.sub(r"\{\{ (if \.System|end|\.System|\.Prompt) \}\}", "", tmpl).count("{{"):
        fail(f"TEMPLATE uses more than if .System / .System / .Prompt: {tmpl!r}")
    tmpl = re.sub(r"\{\{ if \.System \}\}(.*?)\{\{ end \}\}",
                  lambda m: m.group(1) if system else "", tmpl, flags=re.S)
    return tmpl.replace("{{ .System }}", system or "").replace("{{ .Prompt }}", prompt)


def rendered_prompt(path):
    """The prompt and the user text `mainline data render` shows."""
    lines = open(path).read().split("\n")
    a = lines.index(next(l for l in lines if l.startswith("== prompt")))
    b = lines.index(next(l for l in lines if l.startswith("== completion")))
    return "\n".join(l[2:] if l.startswith("| ") else l[1:] for l in lines[a + 1:b])


def main():
    mf_path, rendered, system, stops, num_predict = sys.argv[1:6]
    system = system or None
    cmds = parse(open(mf_path).read())
    one = {k: v for k, v in cmds if k != "stop"}
    frm = one.get("from")
    if not frm or not os.path.isfile(os.path.join(os.path.dirname(mf_path), frm)):
        fail(f"FROM {frm!r} is not a file beside the Modelfile")
    if one.get("system") != system:
        fail(f"SYSTEM is {one.get('system')!r}, expected {system!r}")
    got_stops = [v for k, v in cmds if k == "stop"]
    if got_stops != json.loads(stops):
        fail(f"stop parameters {got_stops!r}, expected {stops}")
    if one.get("temperature") != "0":
        fail("no PARAMETER temperature 0")
    if num_predict and one.get("num_predict") != num_predict:
        fail(f"num_predict {one.get('num_predict')!r}, expected {num_predict}")
    row = json.loads(open(sys.argv[6]).readline())
    user = row.get("question") or row.get("prompt")
    want = rendered_prompt(rendered)
    got = expand(one["template"], one.get("system"), user)
    if got != want:
        fail(f"TEMPLATE expands to {got!r}, mainline renders {want!r}")
    print(f"{mf_path}: {len(cmds)} instructions; TEMPLATE gives mainline's prompt "
          f"({len(want)} bytes), {len(got_stops)} stops")


if __name__ == "__main__":
    main()
