/**
 * Progress of long work: a redrawn bar with rate and ETA on a terminal, plain lines otherwise (logs, CI), and
 * nothing with --json, whose output must stay machine-readable.
 */
export interface ProgressOptions {
  label: string;
  total?: number;
  unit?: string;
  stream?: NodeJS.WriteStream;
  json?: boolean;
  /** How often plain lines are written when not on a terminal. */
  lineIntervalMs?: number;
}

export class ProgressReporter {
  private done = 0;
  private readonly started = Date.now();
  private lastDraw = 0;
  private readonly stream: NodeJS.WriteStream;
  private readonly interactive: boolean;

  constructor(private readonly options: ProgressOptions) {
    this.stream = options.stream ?? process.stderr;
    this.interactive = !options.json && Boolean(this.stream.isTTY);
  }

  /** Work already done before this run (e.g. a resumed download or batch). */
  skip(amount: number): void {
    this.done += amount;
  }

  advance(amount = 1): void {
    this.done += amount;
    const now = Date.now();
    const interval = this.interactive ? 100 : this.options.lineIntervalMs ?? 5000;
    if (now - this.lastDraw >= interval) {
      this.lastDraw = now;
      this.draw(false);
    }
  }

  finish(): void {
    this.draw(true);
  }

  private describe(): string {
    const seconds = Math.max((Date.now() - this.started) / 1000, 1e-3);
    const rate = this.done / seconds;
    const unit = this.options.unit ?? 'items';
    const { total } = this.options;
    const amount = total ? `${format(this.done)}/${format(total)} ${unit}` : `${format(this.done)} ${unit}`;
    const eta = total && rate > 0 ? ` ETA ${duration((total - this.done) / rate)}` : '';
    return `${this.options.label}: ${amount} ${format(rate)} ${unit}/s${eta}`;
  }

  private draw(final: boolean): void {
    if (this.options.json) return;
    if (!this.interactive) {
      this.stream.write(`${this.describe()}${final ? ' done' : ''}\n`);
      return;
    }
    const { total } = this.options;
    const width = 24;
    const filled = total ? Math.min(width, Math.round((this.done / total) * width)) : 0;
    const bar = total ? `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ` : '';
    this.stream.write(`\r\x1b[2K${bar}${this.describe()}${final ? '\n' : ''}`);
  }
}

function format(value: number): string {
  if (value >= 1e9) return `${(value / 1e9).toFixed(2)}G`;
  if (value >= 1e6) return `${(value / 1e6).toFixed(1)}M`;
  if (value >= 1e4) return `${(value / 1e3).toFixed(1)}k`;
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${s % 60}s` : `${s}s`;
}
