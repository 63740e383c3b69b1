// gguf-meta.mjs FILE.gguf: the metadata and tensor infos of a GGUF file as one JSON object,
// parsed by Hugging Face's @huggingface/gguf (not mainline's code): {"metadata": {...},
// "tensors": [{"name", "shape", "dtype"}]}. Run with NODE_PATH at the node_modules of
// scripts/npm-llama.sh.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { gguf } = await import(require.resolve("@huggingface/gguf"));
const file = path.resolve(process.argv[2]);
const { metadata, tensorInfos } = await gguf(file, { allowLocalFile: true });
const plain = (v) => typeof v === "bigint" ? Number(v) : Array.isArray(v) ? v.map(plain) : v;
const meta = {};
for (const [k, v] of Object.entries(metadata)) meta[k] = plain(v);
const tensors = tensorInfos.map((t) => ({ name: t.name, shape: t.shape.map(Number),
                                          dtype: Number(t.dtype) }));
console.log(JSON.stringify({ metadata: meta, tensors }));
