#!/usr/bin/env node
// Committed shim so npm links the bin before the first build; the real entry point is compiled TypeScript.
await import('../dist/main.js');
