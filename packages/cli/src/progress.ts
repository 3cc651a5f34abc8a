/**
 * A progress bar for transfers that take more than a moment. It is drawn only on an interactive stderr,
 * never with `--json`, and only once the transfer is big (≥ 1 MiB) or slow (≥ 500 ms), so quick runs and
 * scripts see no control characters. cli-progress is loaded only when a bar is actually drawn.
 *
 * @module
 */

import type { SingleBar } from 'cli-progress';
import type { CommandContext } from './context.js';
import type { Output } from './output.js';

/** A transfer at least this big gets a bar at once. */
export const PROGRESS_MIN_BYTES = 1024 * 1024;
/** A transfer running at least this long gets a bar. */
export const PROGRESS_MIN_MS = 500;

/** Byte progress of one transfer. */
export class Progress {
  private readonly started: number;
  private bar: SingleBar | undefined;
  private loading: Promise<void> | undefined;
  private done = 0;
  private total = 0;

  constructor(
    private readonly ctx: CommandContext,
    private readonly enabled: boolean,
    private readonly label: string,
  ) {
    this.started = ctx.now();
  }

  /** A bar for `out`'s mode: enabled only on a TTY without `--json`. */
  static for(ctx: CommandContext, out: Output, label: string): Progress {
    return new Progress(ctx, ctx.isTTY && !out.json, label);
  }

  /** Whether the bar is being drawn. */
  get shown(): boolean {
    return this.loading !== undefined;
  }

  /** Reports `done` of `total` bytes (`total` 0 when unknown: no bar is drawn). */
  update(done: number, total: number): void {
    this.done = done;
    this.total = total;
    if (this.bar !== undefined) {
      this.bar.setTotal(total);
      this.bar.update(done);
      return;
    }
    if (!this.enabled || this.loading !== undefined || total <= 0 || done >= total) return;
    if (total >= PROGRESS_MIN_BYTES || this.ctx.now() - this.started >= PROGRESS_MIN_MS) {
      this.loading = this.draw();
    }
  }

  private async draw(): Promise<void> {
    const { SingleBar, Presets } = (await import('cli-progress')).default;
    this.bar = new SingleBar(
      {
        stream: this.ctx.stderr,
        format: `${this.label} [{bar}] {percentage}% | {value}/{total} bytes | {duration_formatted}`,
        hideCursor: true,
        clearOnComplete: true,
      },
      Presets.shades_classic,
    );
    this.bar.start(this.total, this.done);
  }

  /** Removes the bar, if one is drawn. */
  async stop(): Promise<void> {
    await this.loading;
    if (this.bar !== undefined) {
      this.bar.update(this.total);
      this.bar.stop();
    }
  }
}
