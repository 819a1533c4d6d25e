#!/usr/bin/env bash
# Runs gdn-logits on a parity fixture and compares its rows with transformers' logits:
# relative L2 per position below TOL (default 1e-4). Needs only coreutils and awk.
# usage: check_gdn_logits.sh GDN_LOGITS_BINARY [DATA_DIR (tests/data)] [FIXTURE] [TOL]
#        extra gdn-logits options can follow in GDN_LOGITS_ARGS, e.g. "--backend cuda"
set -euo pipefail
bin="${1:?usage: check_gdn_logits.sh GDN_LOGITS_BINARY [DATA_DIR] [FIXTURE] [TOL]}"
data="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../data" && pwd)}"
name="${3:-qwen35_r2_tied}"
tol="${4:-1e-4}"
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

# shellcheck disable=SC2086
"$bin" "$data/$name.gguf" --tokens-file "$data/$name.tokens.i32" --out "$out" ${GDN_LOGITS_ARGS:-}

n_tokens=$(( $(stat -c %s "$data/$name.tokens.i32") / 4 ))
want_bytes=$(stat -c %s "$data/$name.logits.f32")
got_bytes=$(stat -c %s "$out")
if [ "$got_bytes" != "$want_bytes" ]; then
    echo "check_gdn_logits: $name: gdn-logits wrote $got_bytes bytes, expected $want_bytes" >&2
    exit 1
fi
n_vocab=$(( want_bytes / 4 / n_tokens ))

paste <(od -An -v -t f4 -w4 "$out") <(od -An -v -t f4 -w4 "$data/$name.logits.f32") |
awk -v nv="$n_vocab" -v tol="$tol" -v name="$name" '
    { d = $1 - $2; num += d * d; den += $2 * $2; if (++i % nv == 0) {
          r = sqrt(num / den); if (r > worst) { worst = r; at = i / nv - 1 } num = 0; den = 0 } }
    END {
        printf "check_gdn_logits: %s: %d positions, max rel L2 %.3e at position %d (tol %s)\n",
               name, i / nv, worst, at, tol
        exit (worst < tol) ? 0 : 1
    }'
