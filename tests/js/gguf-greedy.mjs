// gguf-greedy.mjs MODEL.gguf PROMPTS.jsonl N: load a GGUF file in llama.cpp (node-llama-cpp's
// prebuilt CPU binaries, never built here) and continue each prompt greedily for up to N
// tokens, the way `mainline-eval --greedy` does: llama.cpp's own tokenizer encodes the
// prompt (BOS first when the file asks for it), generation ends at EOS or BOS. Prints one
// JSON line per prompt: {"prompt", "prompt_ids", "ids"}. Run with NODE_PATH at the
// node_modules of scripts/npm-llama.sh. The KV cache is float32, as mainline's.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const [modelPath, promptsPath, nText] = process.argv.slice(2);
const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { getLlama, LlamaLogLevel } = await import(require.resolve("node-llama-cpp"));
const n = Number(nText);
const llama = await getLlama({ build: "never", gpu: false, logLevel: LlamaLogLevel.error,
                               usePrebuiltBinaries: true });
const model = await llama.loadModel({ modelPath });
const bos = model.tokens.bos, eos = model.tokens.eos;
const addBos = model.tokens.shouldPrependBosToken;
const rows = readFileSync(promptsPath, "utf8").split("\n").filter((l) => l.trim());
for (const line of rows) {
    const { prompt } = JSON.parse(line);
    // a float32 KV cache, as mainline keeps (llama.cpp's default is f16)
    const ctx = await model.createContext({ contextSize: model.trainContextSize, threads: 1,
                                            batchSize: 512, experimentalKvCacheKeyType: "F32",
                                            experimentalKvCacheValueType: "F32" });
    const seq = ctx.getSequence();
    const promptIds = [...(addBos && bos != null ? [bos] : []), ...model.tokenize(prompt, false)];
    const ids = [];
    if (promptIds.length < model.trainContextSize) {
        for await (const t of seq.evaluate(promptIds, { temperature: 0 })) {
            ids.push(t);
            if (t === eos || t === bos || ids.length >= n ||
                promptIds.length + ids.length >= model.trainContextSize)
                break;
        }
    }
    console.log(JSON.stringify({ prompt, prompt_ids: promptIds.map(Number), ids: ids.map(Number) }));
    await ctx.dispose();
}
await model.dispose();
await llama.dispose();
