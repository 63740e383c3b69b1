/*
 * fuzz_sweep.c - libFuzzer target for the sweep loader: YAML tree, schema checks,
 * parameter values, expansion into runs.
 *
 * Each input is a sweep file. It goes through sweep_load_text() (which also turns
 * the whole tree into JSON with ynode_to_json) and, when that succeeds,
 * sweep_expand(); everything is released, so LeakSanitizer sees any leak. It is
 * not a test of what the loader accepts: a crash, a leak, a sanitizer report or a
 * slow input is the finding. Build and run with `make fuzz`; crashers found go to
 * tests/fuzz/crashers/ and tests/unit/test_fuzz_crashers.c replays them.
 */
#include <stddef.h>
#include <stdint.h>

#include "sweep.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct diag_list diags = { 0 };
    struct sweep s;
    if (sweep_load_text("fuzz.yaml", (const char *)data, size, &s, &diags) == 0) {
        struct plan_runs runs;
        if (sweep_expand(&s, &runs, &diags) == 0)
            plan_runs_free(&runs);
        /* The loader's JSON view of the whole document, once more from the root. */
        json_decref(ynode_to_json(s.doc->root));
        sweep_free(&s);
    }
    diag_free(&diags);
    return 0;
}
