// gguf-logits.mjs IDS.jsonl MODEL.gguf OUT.jsonl [MODEL.gguf OUT.jsonl]...: llama.cpp's
// logits (node-llama-cpp's prebuilt CPU binaries, never built here) at every position of
// each row's ids, as `mainline-eval --logits` gives them: into OUT, one JSON line per row
// {"ids", "logits": [[V floats] per position]}. The ids are fed as they are (no
// tokenizer, no BOS added), all of a row in one batch. One thread, a float32 KV cache as
// mainline's. Run with NODE_PATH at scripts/npm-llama.sh's node_modules.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [idsPath, ...pairs] = process.argv.slice(2);
const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error,
                               usePrebuiltBinaries: true });
const rows = readFileSync(idsPath, "utf8").split("\n").filter((l) => l.trim())
    .map((l) => JSON.parse(l).ids);
for (let i = 0; i + 1 < pairs.length; i += 2) {
    const model = await llama.loadModel({ modelPath: pairs[i] });
    const lines = [];
    for (const ids of rows) {
        const ctx = await model.createContext({ contextSize: model.trainContextSize, threads: 1,
                                                batchSize: 512,
                                                experimentalKvCacheKeyType: "F32",
                                                experimentalKvCacheValueType: "F32" });
        const seq = ctx.getSequence();
        const res = await seq.controlledEvaluate(
            ids.map((t) => [t, { generateNext: { logits: true } }]));
        const logits = res.map((r) => {
            const row = new Array(r.next.logits.size).fill(null);   // every token's logit
            for (const [t, v] of r.next.logits) row[Number(t)] = v;
            return row;
        });
        lines.push(JSON.stringify({ ids, logits }));
        await ctx.dispose();
    }
    writeFileSync(pairs[i + 1], lines.join("\n") + "\n");
    await model.dispose();
}
await llama.dispose();
