/** Small statistics and process readings shared by the benchmarks. */
import { readFile } from 'node:fs/promises';

/** The `p`-th percentile of ascending `sorted`: the sample at index ⌊n·p/100⌋ (`NaN` for none). */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
}

/** The nearest-rank `p`-th percentile of ascending `sorted`: the sample at index ⌈n·p/100⌉ − 1 (`NaN` for none). */
export function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** The median of `xs` (in any order): the upper one of an even count (`NaN` for none). */
export function median(xs: readonly number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
}

/** CPU time (user + system) a child process used so far, in ms, from /proc (`NaN` where there is none). */
export async function childCpuMs(pid: number | undefined): Promise<number> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // USER_HZ is 100 on every Linux architecture Node supports.
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return NaN;
  }
}
