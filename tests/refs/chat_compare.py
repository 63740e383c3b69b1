#!/usr/bin/env python3
"""chat_compare.py - t3011's comparison: every case of CASES rendered by
`mainline template` against the two references' lines for it.

    chat_compare.py MAINLINE MODEL_DIR CASES.jsonl PY_REF.jsonl JS_REF.jsonl

PY_REF is Python's jinja2 as transformers runs it (chat_template_py.py): mainline
must give the same bytes for every case, or refuse the cases it refuses (a
template's raise_exception, as Gemma 3's on roles that do not alternate), with the
same message. JS_REF is @huggingface/jinja (chat-template.mjs): where it agrees
with Python, mainline therefore agrees with it too; where it does not, the case is
listed as the JavaScript reference's own difference (0.5.13 ignores the argument
of strip/lstrip/rstrip, which Qwen3's template passes). Prints one line per
disagreement, then "N cases: N identical, N refused by both, N differ (N where
@huggingface/jinja differs from jinja2)"; exit 1 when any differ."""
import json
import subprocess
import sys


def load(path):
    return [json.loads(l) for l in open(path, encoding="utf-8") if l.strip()]


def main():
    mainline, model, cases_path, py_path, js_path = sys.argv[1:6]
    cases, py, js = load(cases_path), load(py_path), load(js_path)
    assert len(cases) == len(py) == len(js), "references and cases differ in length"
    same = refused = differ = js_own = 0
    for c, r, j in zip(cases, py, js):
        if j != r and ("error" not in j or "error" not in r):
            js_own += 1
            print("JS-REF %s: @huggingface/jinja %r, jinja2 %r" %
                  (c["name"], j.get("text", j.get("error")), r.get("text", r.get("error"))))
        args = [mainline, "template", model]
        if c.get("add_generation_prompt"):
            args.append("--add-generation-prompt")
        for k, v in (c.get("vars") or {}).items():
            args += ["--var", "%s=%s" % (k, json.dumps(v))]
        inp = {"messages": c["messages"]}
        if "tools" in c:
            inp["tools"] = c["tools"]
        p = subprocess.run(args, input=json.dumps(inp, ensure_ascii=False).encode(),
                           capture_output=True)
        got = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace").strip()
        if "error" in r:
            if p.returncode == 1 and not got and err == "error: chat_template: " + r["error"]:
                refused += 1
                continue
            differ += 1
            print("DIFF %s: jinja2 refused (%s), mainline exit %d, %r, %r" %
                  (c["name"], r["error"], p.returncode, got, err))
            continue
        if p.returncode == 0 and got == r["text"]:
            same += 1
            continue
        differ += 1
        print("DIFF %s (exit %d, stderr %r):\n  want %r\n  got  %r" %
              (c["name"], p.returncode, err, r["text"], got))
    print("%d cases: %d identical, %d refused by both, %d differ (%d where "
          "@huggingface/jinja differs from jinja2)" % (len(cases), same, refused, differ, js_own))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
