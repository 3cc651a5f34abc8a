/**
 * Runs every benchmark in bench/ (or those whose file name contains one of the arguments) one after another,
 * prints each result, and rewrites that benchmark's section of docs/benchmarks.md with the figures, the machine,
 * the command and the date. Benchmarks measure; they never pass or fail on wall-clock figures.
 *
 *   npm run bench                  # all
 *   npm run bench -- devagent lock # only files matching
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

interface BenchModule {
  run(): Promise<Record<string, unknown>>;
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const docPath = path.join(benchDir, '..', 'docs', 'benchmarks.md');
const marker = (name: string, edge: 'begin' | 'end'): string => `<!-- bench:${name}:${edge} -->`;

function formatValue(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(2);
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} × ${cpus[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ` +
    `${os.type()} ${os.release()}, Node ${process.version}`;
}

async function main(): Promise<void> {
  const filters = process.argv.slice(2);
  const files = (await readdir(benchDir))
    .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
    .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
    .sort();
  if (files.length === 0) {
    process.stderr.write(`bench: no benchmark matches ${filters.join(' ')}\n`);
    process.exitCode = 1;
    return;
  }
  let doc: string;
  try {
    doc = await readFile(docPath, 'utf8');
  } catch {
    doc = '# Benchmarks\n';
  }
  const stamp = `${new Date().toISOString()} · ${machine()} · \`npm run bench -- NAME\``;
  let failed = 0;
  for (const file of files) {
    const name = file.replace(/\.ts$/, '');
    process.stdout.write(`\n== ${name}\n`);
    const started = performance.now();
    let body: string;
    try {
      const mod = (await import(pathToFileURL(path.join(benchDir, file)).href)) as BenchModule;
      const result = await mod.run();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const rows = Object.entries(result).map(([k, v]) => `| ${k} | ${formatValue(v)} |`);
      process.stdout.write(`${rows.join('\n')}\n(${seconds} s)\n`);
      body = `| measure | value |\n|---|---|\n${rows.join('\n')}`;
    } catch (err) {
      failed++;
      const message = err instanceof Error ? err.message : String(err);
      process.stdout.write(`FAILED: ${message}\n`);
      body = `failed to run: ${message}`;
    }
    const section = `${marker(name, 'begin')}\n#### ${name}\n\n_${stamp.replace('NAME', name)}_\n\n${body}\n${marker(name, 'end')}`;
    const from = doc.indexOf(marker(name, 'begin'));
    const to = doc.indexOf(marker(name, 'end'));
    doc = from >= 0 && to > from
      ? doc.slice(0, from) + section + doc.slice(to + marker(name, 'end').length)
      : `${doc.trimEnd()}\n\n${section}\n`;
    await writeFile(docPath, doc);
  }
  if (failed > 0) process.exitCode = 1;
}

await main();
