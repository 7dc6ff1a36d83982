#!/usr/bin/env node
// The `petrel` command. From a checkout it runs the TypeScript sources directly (Node 24 strips types);
// installed as a package (under node_modules, where Node does not strip types) it runs the built dist/.
import { fileURLToPath } from 'node:url';

const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`petrel needs Node.js 24 or newer; this is ${process.version}. See README.md, "Prerequisite".`);
  process.exit(1);
}
// Blob writes are fsynced on libuv's thread pool; with 4 threads (the default) concurrent deliveries
// queue behind each other's fsyncs. Must be set before the pool's first use.
process.env.UV_THREADPOOL_SIZE ??= '16';
const here = fileURLToPath(import.meta.url);
const entry = here.includes('/node_modules/') ? '../dist/cli/main.js' : '../src/cli/main.ts';
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));
