// tok_bench.mjs - the references bench/bench_tokenize.sh times against mainline.
//
//   node bench/tok_bench.mjs hf   NPM_DIR TOKENIZER_DIR TEXT REPS IDS_OUT
//   node bench/tok_bench.mjs rust NPM_DIR TOKENIZER_DIR TEXT REPS IDS_OUT
//
// hf: Hugging Face's JavaScript tokenizers (@huggingface/tokenizers); rust: Hugging
// Face's Rust tokenizers through the Node binding @anush008/tokenizers. Each encodes
// the whole text as one string REPS times (no special tokens added) and prints the
// load time, the median encode time and MB/s, the median CPU seconds of the process
// and MB per CPU second, and the number of ids; IDS_OUT gets the ids, one a line.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [mode, npm, dir, textFile, repsArg, idsOut] = process.argv.slice(2);
const require = createRequire(join(npm, "package.json"));
const text = readFileSync(textFile, "utf8");
const bytes = Buffer.byteLength(text, "utf8");
const reps = Number(repsArg || 5);
let t0 = performance.now();
let encode;
if (mode === "hf") {
    const { Tokenizer } = require("@huggingface/tokenizers");
    const tok = new Tokenizer(JSON.parse(readFileSync(join(dir, "tokenizer.json"), "utf8")),
                              JSON.parse(readFileSync(join(dir, "tokenizer_config.json"), "utf8")));
    encode = async (s) => tok.encode(s, { add_special_tokens: false }).ids;
} else {
    const { Tokenizer } = require("@anush008/tokenizers");
    const tok = Tokenizer.fromFile(join(dir, "tokenizer.json"));
    encode = async (s) => (await tok.encode(s, null, { addSpecialTokens: false })).getIds();
}
const load = (performance.now() - t0) / 1000;
const secs = [], cpus = [];
let ids;
for (let r = 0; r < reps; r++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    ids = await encode(text);
    secs.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1e6);   // every thread of the process
}
secs.sort((a, b) => a - b);
cpus.sort((a, b) => a - b);
const med = secs[Math.floor(reps / 2)], cmed = cpus[Math.floor(reps / 2)];
const name = mode === "hf" ? "hf-js   " : "hf-rust ";
console.log(`${name}  load ${load.toFixed(2)} s  encode ${med.toFixed(3)} s  ` +
            `${(bytes / med / 1e6).toFixed(2)} MB/s  cpu ${cmed.toFixed(3)} s  ` +
            `${(bytes / cmed / 1e6).toFixed(2)} MB/cpu-s  ${ids.length} ids`);
if (idsOut) writeFileSync(idsOut, Array.from(ids).join("\n") + "\n");
