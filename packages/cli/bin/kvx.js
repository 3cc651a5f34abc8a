#!/usr/bin/env node
// Committed shim so npm links the bin before the first build. The real entry point is dist/kvx.mjs, the
// one-file bundle of the compiled CLI that `npm run build` makes (scripts/bundle.js): it starts much faster.
await import('../dist/kvx.mjs');
