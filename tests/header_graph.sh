#!/bin/sh
# The header graph of docs/ARCHITECTURE.md: a header may include gdn headers of its own folder
# and of the folders listed for it, never of a layer above. Prints each violation; exits 1 if any.
# usage: header_graph.sh INCLUDE_DIR
set -u
inc=${1:?usage: header_graph.sh INCLUDE_DIR}
allowed() {
    case $1 in
        core) echo "core" ;;
        quant) echo "core quant" ;;
        io) echo "core quant io" ;;
        ref) echo "core quant ref" ;;
        kernels) echo "core quant kernels" ;;
        blocks) echo "core quant ref kernels blocks" ;;
        schedule) echo "core quant io ref kernels blocks schedule" ;;
        *) echo "core quant io ref kernels blocks schedule" ;;  # the umbrellas gdn.hpp / gdn.cuh
    esac
}
status=0
checked=0
for file in $(cd "$inc" && find gdn -name '*.hpp' -o -name '*.cuh' | sort); do
    dir=$(echo "$file" | cut -d/ -f2)   # gdn/quant/formats/x.hpp: quant
    ok=$(allowed "$dir")
    for used in $(sed -n 's|^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]gdn/\([a-z_]*\)/.*|\1|p' "$inc/$file" | sort -u); do
        case " $ok " in
            *" $used "*) ;;
            *) echo "header graph: $file includes gdn/$used/ (allowed: $ok)"; status=1 ;;
        esac
    done
    case $file in *.hpp) if grep -q '#[[:space:]]*include[[:space:]]*[<"]gdn/.*\.cuh' "$inc/$file"; then
        echo "header graph: $file (.hpp, plain C++) includes a .cuh"; status=1; fi ;; esac
    checked=$((checked + 1))
done
echo "header graph: $checked headers checked"
exit $status
