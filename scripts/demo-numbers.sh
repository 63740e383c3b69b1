#!/bin/sh
# demo-numbers.sh SELECT_OUTPUT [SECONDS] - the figures of a `make demo` as the
# Markdown block that scripts/readme-numbers.sh puts into README.md: the machine
# (CPU model from /proc/cpuinfo, cores), the date, the demo's wall time, then per
# variant the mean and per-seed accuracy in %, the retention NLL increase of its
# worst seed, with usable.quantized its mean quantised accuracy and worst drop, and its
# mainline diagnosis, then the verdict, each paired bootstrap
# interval and the mainline line exactly as `mainline select` printed them.
# Reads only SELECT_OUTPUT (what `mainline select demo` printed); writes stdout.
set -e
sel=$1
secs=${2:-}
test -r "$sel" || { echo "demo-numbers.sh: cannot read '$sel'" >&2; exit 1; }
cpu=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
test -n "$cpu" || cpu=$(uname -m)
cores=$(nproc 2>/dev/null || echo '?')
printf 'Measured by `make demo` on %s, %s (%s cores seen)%s.\n\n' "$(date -u +%Y-%m-%d)" \
    "$cpu" "$cores" "${secs:+, $secs s wall}"
awk '
function pct(x) { return sprintf("%.1f%%", 100 * x) }
# the per-seed cell "0=0.2000, 1=0.4900" as "20.0%, 49.0%"
function seeds(cell,    n, parts, i, kv, out) {
    n = split(cell, parts, /, /)
    out = ""
    for (i = 1; i <= n; i++) {
        split(parts[i], kv, "=")
        out = out (i > 1 ? ", " : "") pct(kv[2])
    }
    return out
}
function trim(s) { gsub(/^ +| +$/, "", s); return s }
/^\*\*Verdict:\*\*/  { verdict = $0; sub(/^\*\*Verdict:\*\* /, "", verdict) }
/^\*\*Mainline:\*\*/ { ml = $0; sub(/^\*\*Mainline:\*\* /, "", ml) }
/^### / { section = $0; next }
/^Base model \(untouched\): accuracy / {
    split($0, w, " "); base = pct(w[5]) " " w[6] " " w[7] " " w[8]
}
/^Paired bootstrap|^Bootstrap of the mean/ { boot[++nboot] = $0 }
/^\| / && section ~ /^### Mainline layers/ && $0 !~ /^\| candidate / {
    n = split($0, c, "|")
    name = trim(c[2])
    r = c[3]
    if (match(r, /retention NLL [-+][0-9.]+/))
        ret[name] = substr(r, RSTART + 14, RLENGTH - 14)
    else
        ret[name] = "-"
    diag[name] = trim(c[6])
}
# "### Quantised (q4_0) vs f32": the mean quantised accuracy and worst drop of each candidate
/^\| / && section ~ /^### Quantised / {
    split($0, c, "|")
    if (trim(c[3]) == "baseline")
        qbase = pct(trim(c[5]))
    if (trim(c[3]) == "mean (worst drop)") {
        q = section; sub(/^### Quantised \(/, "", q); sub(/\).*/, "", q)
        qacc[trim(c[2])] = pct(trim(c[5])) " (" trim(c[6]) ")"
        nq++
    }
}
/^\| / && section ~ /^### accuracy by / && $0 !~ /^\| [^|]* \| seeds \|/ {
    split($0, c, "|")
    name = trim(c[2])
    order[++nv] = name
    mean[name] = pct(trim(c[4]))
    per[name] = seeds(trim(c[8]))
    nseeds = trim(c[3])
}
END {
    if (!nv) { print "demo-numbers.sh: no accuracy table in the select output" > "/dev/stderr"; exit 1 }
    qh = nq ? " " q " accuracy, mean (worst drop of a seed) |" : ""
    qs = nq ? "---|" : ""
    print "| variant | accuracy, mean of " nseeds " seeds | per seed |" qh " retention NLL increase, worst seed (nats/token) | mainline layers |"
    print "|---|---|---|" qs "---|---|"
    if (base != "")
        print "| untouched base model | " base " | - |" (nq ? " " (qbase != "" ? qbase : "-") " |" : "") " - | - |"
    for (i = 1; i <= nv; i++) {
        v = order[i]
        qc = nq ? " " (v in qacc ? qacc[v] : "-") " |" : ""
        print "| " v " | " mean[v] " | " per[v] " |" qc " " (v in ret ? ret[v] : "-") " | " (v in diag ? diag[v] : "-") " |"
    }
    print ""
    print "- Verdict: " verdict
    for (i = 1; i <= nboot; i++)
        print "- " boot[i]
    print "- Mainline: " ml
}' "$sel"
