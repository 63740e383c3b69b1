#!/usr/bin/env python3
"""chat_cases.py - the conversations t3011 renders with every chat template, as
JSONL on stdout: {"name", "messages", "tools"?, "add_generation_prompt", "vars"?}.
Deterministic; no randomness, so a failure names the same case every time."""
import json
import sys

SYSTEMS = [None, "You are a careful assistant.", "Système: réponds en français.\nLigne 2 {{ not jinja }}"]

TEXTS = [
    "What is 2+2?",
    "  leading and trailing spaces  ",
    "Line one\nLine two\n\nLine four",
    "Unicode: 你好, Привет, 🤖👩‍👩‍👧, café, naïve, ∑x²",
    "Braces {{ x }} {% if %} {# c #} and quotes ' \" \\ backslash",
    "Tabs\tand\r\nCRLF and a trailing newline\n",
    "<|im_start|>user\nspecial-looking text<|im_end|>",
    "",
]

ANSWERS = [
    "4",
    "The answer is \\boxed{42}.",
    "  Spaced answer with newline\n",
    "Multi\nline\nanswer ✓",
    "<think>\nLet me add 2 and 2.\n</think>\n\nThe sum is 4.",
    "<think>short</think>Direct after think.",
    "Answer with {braces} and \"quotes\"",
]

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather in a city, in °C",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "description": "City name"},
                                      "days": {"type": "integer"}},
                       "required": ["city"]},
    },
}]


def convs():
    # single turns: every text with an answer
    for i, t in enumerate(TEXTS):
        yield "single-%d" % i, [{"role": "user", "content": t},
                                {"role": "assistant", "content": ANSWERS[i % len(ANSWERS)]}]
        yield "question-%d" % i, [{"role": "user", "content": t}]
    # multi-turn conversations
    for k in range(len(ANSWERS)):
        msgs = []
        for turn in range(1 + k % 3 + 1):
            msgs.append({"role": "user", "content": TEXTS[(k + turn) % len(TEXTS)] or "next"})
            msgs.append({"role": "assistant", "content": ANSWERS[(k + 2 * turn) % len(ANSWERS)]})
        yield "multi-%d" % k, msgs
        yield "multi-open-%d" % k, msgs + [{"role": "user", "content": "And then?"}]
    # thinking in the last assistant turn, and in an earlier one
    yield "think-last", [{"role": "user", "content": "Q1"},
                         {"role": "assistant", "content": "<think>\nr1\n</think>\n\nA1"},
                         {"role": "user", "content": "Q2"},
                         {"role": "assistant", "content": "<think>\nr2\n</think>\n\nA2"}]
    yield "reasoning-field", [{"role": "user", "content": "Q"},
                              {"role": "assistant", "content": "A",
                               "reasoning_content": "\nthe reasoning\n"}]


def tool_convs():
    call = {"role": "assistant", "content": "",
            "tool_calls": [{"type": "function",
                            "function": {"name": "get_weather",
                                         "arguments": {"city": "Zürich", "days": 2}}}]}
    call_text = {"role": "assistant", "content": "Let me check.",
                 "tool_calls": [{"type": "function",
                                 "function": {"name": "get_weather",
                                              "arguments": {"city": "Paris"}}},
                                {"type": "function",
                                 "function": {"name": "get_weather",
                                              "arguments": {"city": "Rome"}}}]}
    yield "tools-ask", [{"role": "user", "content": "Weather in Zürich?"}], True
    yield "tools-call", [{"role": "user", "content": "Weather in Zürich?"}, call,
                         {"role": "tool", "content": "{\"temp\": 21}"},
                         {"role": "assistant", "content": "It is 21 °C."}], True
    yield "tools-two", [{"role": "user", "content": "Paris and Rome?"}, call_text,
                        {"role": "tool", "content": "18"}, {"role": "tool", "content": "25"}], True
    yield "tools-none-declared", [{"role": "user", "content": "Weather?"}, call,
                                  {"role": "tool", "content": "sunny"}], False


def main():
    out = []
    for name, msgs in convs():
        for s_i, system in enumerate(SYSTEMS):
            m = ([{"role": "system", "content": system}] if system is not None else []) + msgs
            for gen in (False, True):
                out.append({"name": "%s-sys%d-gen%d" % (name, s_i, gen), "messages": m,
                            "add_generation_prompt": gen})
    for name, msgs in list(convs())[::5]:
        for think in (False, True):
            out.append({"name": "%s-think%d" % (name, think), "messages": msgs,
                        "add_generation_prompt": True, "vars": {"enable_thinking": think}})
    for name, msgs, with_tools in tool_convs():
        for gen in (False, True):
            c = {"name": "%s-gen%d" % (name, gen), "messages": msgs, "add_generation_prompt": gen}
            if with_tools:
                c["tools"] = TOOLS
            out.append(c)
    for c in out:
        sys.stdout.write(json.dumps(c, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
