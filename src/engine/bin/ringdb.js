#!/usr/bin/env node
// The `ringdb` command: the bundled CLI built by esbuild.mjs (`npm run build`).
require('../../../dist/engine/cli.js');
