// hf_tokenize.mjs - the reference for t3010: Hugging Face's own JavaScript tokenizers
// (@huggingface/tokenizers, pinned by scripts/npm-refs.sh) on a tokenizer.json.
//
//   node tests/refs/hf_tokenize.mjs CACHE_DIR TOKENIZER_DIR [--add-special] <in.jsonl >out.jsonl
//
// Each input line is a JSON string; each output line {"ids": [...], "text": "..."}:
// encode(s, {add_special_tokens}) and decode(ids) (special tokens kept).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const [cache, dir, ...flags] = process.argv.slice(2);
const require = createRequire(join(cache, "package.json"));
const { Tokenizer } = require("@huggingface/tokenizers");
const json = JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8"));
const config = JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8"));
const tok = new Tokenizer(json, config);
const add = flags.includes("--add-special");
const out = [];
for (const line of readFileSync(0, "utf8").split("\n")) {
    if (line === "") continue;
    const s = JSON.parse(line);
    const ids = tok.encode(s, { add_special_tokens: add }).ids;
    const text = ids.length ? tok.decode(ids) : "";
    out.push(JSON.stringify({ ids, text }));
}
process.stdout.write(out.join("\n") + (out.length ? "\n" : ""));
