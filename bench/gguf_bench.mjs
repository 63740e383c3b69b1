// gguf_bench.mjs MODEL.gguf PROMPTS.jsonl NEW THREADS BATCH...: llama.cpp's greedy
// decoding speed (node-llama-cpp's prebuilt CPU binaries) on a GGUF file, as
// bench_decode_gguf measures mainline's: for each batch size B, the first B prompts
// ({"ids"}) decoded together (B sequences of one context, THREADS threads), NEW tokens
// each (EOS does not end one). Prints, per batch size,
//   llama.cpp FILE batch B threads T tokens N wall S cpu S
// (cpu: the node process's user + system seconds, every thread). NODE_PATH: the
// node_modules of scripts/npm-llama.sh.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [modelPath, promptsPath, newText, threadsText, ...batchTexts] = process.argv.slice(2);
const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const NEW = Number(newText), threads = Number(threadsText);
const prompts = readFileSync(promptsPath, "utf8").split("\n").filter((l) => l.trim())
    .map((l) => JSON.parse(l).ids);
const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error,
                               usePrebuiltBinaries: true });
const model = await llama.loadModel({ modelPath });
const name = path.basename(modelPath, ".gguf");
{   // warm up (first-use allocations), untimed
    const ctx = await model.createContext({ contextSize: 64, threads });
    const seq = ctx.getSequence();
    let n = 0;
    for await (const t of seq.evaluate(prompts[0], { temperature: 0, yieldEogToken: true })) {
        void t;
        if (++n >= 4)
            break;
    }
    await ctx.dispose();
}
for (const batchText of batchTexts) {
    const B = Number(batchText);
    const ctx = await model.createContext({ contextSize: B * (prompts[0].length + NEW + 8),
                                            sequences: B, threads, batchSize: 512,
                                            experimentalKvCacheKeyType: "F32",
                                            experimentalKvCacheValueType: "F32" });
    const seqs = Array.from({ length: B }, () => ctx.getSequence());
    const c0 = process.cpuUsage(), t0 = process.hrtime.bigint();
    const counts = await Promise.all(seqs.map(async (seq, i) => {
        let n = 0;
        for await (const t of seq.evaluate(prompts[i], { temperature: 0, yieldEogToken: true })) {
            void t;
            if (++n >= NEW)
                break;
        }
        return n;
    }));
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    const tokens = counts.reduce((a, b) => a + b, 0);
    console.log(`llama.cpp ${name} batch ${B} threads ${threads} tokens ${tokens} ` +
                `wall ${wall.toFixed(3)} cpu ${((c.user + c.system) / 1e6).toFixed(3)}`);
    await ctx.dispose();
}
await model.dispose();
await llama.dispose();
