# Source me: puts Node >= 22.12 first on PATH for this shell (CI and anyone who wants `node` itself to be 22).
# Usage: . .ci/node.sh
# The npm scripts do not need this: each runs through .ci/node22.mjs, which switches to a Node 22 fetched
# once from the npm registry when the `node` on PATH is older. This uses the same launcher and cache.
_aa_dir=$(node "$(dirname "${BASH_SOURCE[0]:-$0}")/node22.mjs" --bin) || return 1 2>/dev/null || exit 1
case ":$PATH:" in *":$_aa_dir:"*) ;; *) export PATH="$_aa_dir:$PATH" ;; esac
unset _aa_dir
