// chat-template.mjs FILE.gguf MESSAGES.json: the chat a GGUF file's tokenizer.chat_template
// renders for the messages in MESSAGES.json, with add_generation_prompt, on standard output
// as it is. The file is parsed by @huggingface/gguf and the template run by
// @huggingface/jinja (the Jinja of Hugging Face chat templates), not by mainline's code.
// Run with NODE_PATH at the node_modules of scripts/npm-llama.sh.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH, "x.js"));
const { gguf } = await import(require.resolve("@huggingface/gguf"));
const { Template } = await import(require.resolve("@huggingface/jinja"));
const { metadata } = await gguf(path.resolve(process.argv[2]), { allowLocalFile: true });
const source = metadata["tokenizer.chat_template"];
if (typeof source !== "string") {
    console.error("no tokenizer.chat_template");
    process.exit(1);
}
const messages = JSON.parse(readFileSync(process.argv[3], "utf8"));
process.stdout.write(new Template(source).render({ messages, add_generation_prompt: true,
                                                   bos_token: "", eos_token: "" }));
