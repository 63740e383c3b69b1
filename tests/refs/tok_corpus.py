#!/usr/bin/env python3
"""tok_corpus.py N SEED: N deterministic test strings for t3010, one JSON string a line.

Mixed English, code, numbers, whitespace runs, CRLF, tabs, CJK, emoji and ZWJ
sequences, combining marks (NFC-relevant), special tokens inside text, lone
high-plane characters and very long words. Characters where Hugging Face's Rust
and JavaScript tokenizers disagree about \\s (U+0085, U+FEFF, U+180E) are left out:
the reference here is the JavaScript one. So are characters this Python does not
know (category Cn): PCRE2 10.42 has Unicode 14 tables, Node 20 Unicode 15 ones (a
digit added in 15, U+11F54, is \p{N} to one and not the other).
"""
import json
import random
import sys
import unicodedata

WORDS = ("the quick brown fox jumps over lazy dog I'm you're we've they'll she'd it's "
         "DON'T Hello HELLO world tokenizer café naïve résumé über straße Ελληνικά "
         "русский текст עברית العربية हिन्दी ไทย 中文 日本語 한국어 東京 ok OK a b c").split()
CODE = ["def f(x):\n    return x**2\n", "int main(void) { return 0; }\n",
        "for (i = 0; i < n; i++) {\n\tsum += a[i];\n}\n", "if x != y && z >= 3:",
        "print(\"hi\")  # comment", "<div class=\"a\">text</div>", "{\"k\": [1, 2.5e-3]}",
        "SELECT * FROM t WHERE a='x';", "x = y ?? z;  // ok", "$ ls -la | grep foo"]
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|begin_of_text|>",
            "<|eot_id|>", "<|start_header_id|>", "<think>", "</think>", "<s>", "</s>",
            "<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>", "<unk>", "<pad>",
            "<|im_start", "im_end|>", "< s>"]
EMOJI = ["😀", "👍🏽", "👨\u200d👩\u200d👧\u200d👦", "🏳️\u200d🌈", "❤️", "🇫🇷", "🧑🏿\u200d💻", "✨"]
COMBINING = ["e\u0301", "a\u0308", "o\u0302\u0323", "n\u0303", "\u1100\u1161\u11a8",
             "A\u030a", "\u0065\u0301\u0301", "ñ", "é", "Å", "\u212b", "ﬁ"]
SPACES = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n ", "\t\t ", "\u00a0", "\u3000",
          "\u2003", "    \n"]
HIGH = ["\U0001d400", "\U00020000", "\U0002a6d6", "\U0001f9ff", "\U000e0041", "\U00010348",
        "\U0010fffd"]
NUMBERS = ["0", "42", "3.14159", "1,000,000", "2024-12-07", "12345678901234567890",
           "-7e10", "0x1F", "٣٤٥", "१२३", "½", "Ⅻ"]


def piece(r):
    k = r.random()
    if k < 0.30:
        return r.choice(WORDS)
    if k < 0.38:
        return r.choice(CODE)
    if k < 0.48:
        return r.choice(NUMBERS)
    if k < 0.58:
        return r.choice(SPACES)
    if k < 0.65:
        return r.choice(SPECIALS)
    if k < 0.72:
        return r.choice(EMOJI)
    if k < 0.80:
        return r.choice(COMBINING)
    if k < 0.84:
        return r.choice(HIGH)
    if k < 0.87:   # a very long word
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(50, 400)))
    if k < 0.90:
        return "".join(chr(r.randint(0x4e00, 0x9fff)) for _ in range(r.randint(1, 30)))
    if k < 0.93:   # any BMP or astral character that is not a surrogate
        c = r.randint(0x20, 0x2ffff)
        while (0xd800 <= c <= 0xdfff or c in (0x85, 0xfeff, 0x180e) or
               unicodedata.category(chr(c)) == "Cn"):
            c = r.randint(0x20, 0x2ffff)
        return chr(c)
    return r.choice(".,;:!?'\"()[]{}-_/\\@#$%^&*+=~`|<>")


def main():
    n, seed = int(sys.argv[1]), int(sys.argv[2])
    r = random.Random(seed)
    fixed = ["", " ", "a", "Hello world", "Hello  world", " leading", "trailing ",
             "line1\r\nline2\r\n", "tab\tsep", "<|im_start|>user\nHi<|im_end|>\n",
             "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>",
             "I'M SURE it's THEY'RE", "x" * 5000, "😀" * 50, "e\u0301" * 20]
    for s in fixed[:n]:
        print(json.dumps(s))
    for _ in range(max(0, n - len(fixed))):
        sep = r.choice(["", " ", " ", " ", "\n"])
        print(json.dumps(sep.join(piece(r) for _ in range(r.randint(1, 25)))))


main()
