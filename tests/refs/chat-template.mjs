// chat-template.mjs - the reference for t3011: Hugging Face's own Jinja
// (@huggingface/jinja, installed by scripts/npm-refs.sh) renders each case of a
// JSONL file with a tokenizer_config.json's chat_template, one JSON line out per
// case: {"text": ...} or {"error": ...}.
//
//   node chat-template.mjs NPM_DIR TOKENIZER_CONFIG CASES.jsonl
//
// The variables are those transformers' apply_chat_template passes: messages,
// tools (null when absent), documents (null), add_generation_prompt,
// continue_final_message (false), the config's special tokens, then the case's vars.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const [npmDir, configPath, casesPath] = process.argv.slice(2);
const require = createRequire(npmDir + "/package.json");
const { Template } = require("@huggingface/jinja");

const tc = JSON.parse(readFileSync(configPath, "utf8"));
let source = tc.chat_template;
if (Array.isArray(source)) source = source.find((t) => t.name === "default").template;
const template = new Template(source);

const specials = {};
for (const name of ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token",
                    "mask_token"]) {
  let t = tc[name];
  if (t && typeof t === "object") t = t.content;
  if (typeof t === "string") specials[name] = t;
}

const out = [];
for (const line of readFileSync(casesPath, "utf8").split("\n")) {
  if (!line.trim()) continue;
  const c = JSON.parse(line);
  const vars = {
    ...specials,
    messages: c.messages,
    tools: c.tools ?? null,
    documents: null,
    add_generation_prompt: !!c.add_generation_prompt,
    continue_final_message: false,
    ...(c.vars || {}),
  };
  try {
    out.push(JSON.stringify({ text: template.render(vars) }));
  } catch (e) {
    out.push(JSON.stringify({ error: String(e.message || e) }));
  }
}
process.stdout.write(out.join("\n") + "\n");
