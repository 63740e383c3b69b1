/*
 * cmd_template.c - `mainline template MODEL_DIR [--add-generation-prompt]
 * [--var NAME=VALUE]...`: render a conversation read on stdin, {"messages": [...],
 * "tools": [...]}, with the model's own chat template (tokenizer_config.json), and
 * print the text exactly as transformers' apply_chat_template(tokenize=False) does:
 * nothing added, not even a newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_template.h"
#include "cli.h"

static const char template_usage[] =
    "usage: mainline template MODEL_DIR [--add-generation-prompt] [--var NAME=VALUE]...\n";

/* NAME=VALUE into vars: VALUE as JSON when it parses as JSON, else as a string. */
static int add_var(json_t *vars, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    char *name = strndup(arg, (size_t)(eq - arg));
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    json_object_set_new(vars, name, v ? v : json_string(eq + 1));
    free(name);
    return 0;
}

int cmd_template(int argc, char **argv, struct cli *cli)
{
    (void)cli;
    const char *dir = NULL;
    int add_gen = 0, rc = EXIT_FAILURES;
    json_t *extra = json_object(), *tc = NULL, *in = NULL, *vars = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--add-generation-prompt")) {
            add_gen = 1;
        } else if (!strcmp(argv[i], "--var") && i + 1 < argc) {
            if (add_var(extra, argv[++i]) < 0) {
                error("--var: expected NAME=VALUE, got '%s'", argv[i]);
                json_decref(extra);
                return cli_usage(template_usage);
            }
        } else if (!strncmp(argv[i], "--var=", 6) && add_var(extra, argv[i] + 6) == 0) {
            continue;
        } else if (argv[i][0] == '-' || dir) {
            json_decref(extra);
            return cli_usage(template_usage);
        } else {
            dir = argv[i];
        }
    }
    if (!dir) {
        json_decref(extra);
        return cli_usage(template_usage);
    }
    struct strbuf err = STRBUF_INIT, out = STRBUF_INIT;
    const char *text;
    json_error_t jerr;
    if (chat_config_load(dir, &tc, &err) < 0 || !(text = chat_template_text(tc, &err))) {
        error("%s", err.buf);
        goto out;
    }
    in = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
    if (!in) {
        error("stdin:%d:%d: %s", jerr.line, jerr.column, jerr.text);
        goto out;
    }
    const json_t *msgs = json_object_get(in, "messages"), *tools = json_object_get(in, "tools");
    if (!json_is_object(in) || !json_is_array(msgs)) {
        error("stdin: expected {\"messages\": [...]} (and optionally \"tools\")");
        goto out;
    }
    vars = chat_template_vars(tc, msgs, tools, add_gen, extra);
    if (chat_template_render(text, vars, &out, &err) < 0) {
        error("%s", err.buf);
        goto out;
    }
    fwrite(sb_str(&out), 1, out.len, stdout);
    rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_FATAL;
out:
    json_decref(extra);
    json_decref(tc);
    json_decref(in);
    json_decref(vars);
    sb_free(&err);
    sb_free(&out);
    return rc;
}
