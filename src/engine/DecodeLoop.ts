import type { LlamaContextSequence, Token } from 'node-llama-cpp';
import { recordEvaluated, sequenceId, type ContextDriver, type NativeSampler } from './nativeBinding.js';

/** Tokens one sequence asks to have evaluated, and the sampler of the token after them (none: no token wanted). */
interface Submission {
  sequence: LlamaContextSequence;
  id: number;
  /** Not yet in a decode. */
  tokens: Token[];
  sampler?: NativeSampler;
  signal?: AbortSignal;
  resolve(token: Token | undefined): void;
  reject(error: unknown): void;
}

/**
 * The batch loop of one context: every sequence with tokens to evaluate goes into each decode, and all of them are
 * sampled in one native call after it. A step adds each sequence's tokens in ascending sequence id (a batch out of
 * order cost llama.cpp about what several decodes cost: four sequences added as 1, 2, 0, 3 took 47 ms against 30 ms
 * as 0, 1, 2, 3 on the 150M model), decodes, samples, records what each sequence evaluated, hands out the tokens,
 * then waits one event-loop turn: the requests that got a token ask for the next one in the microtasks after it, so
 * they all make the next batch, and a request that asked while a decode ran joins the next one.
 *
 * A prompt longer than the batch is evaluated over several steps; the batch is shared evenly, shortest first (see
 * `shareBatch`), so generating sequences keep their one token per step while a long prompt goes in beside them.
 */
export class DecodeLoop {
  private queued: Submission[] = [];
  private running = false;
  /** Work waiting to take the context's lock between two steps (see `between`). */
  private waitingForContext = 0;

  constructor(private readonly driver: ContextDriver) {}

  /**
   * Evaluates `tokens` on the sequence after the tokens it holds. With a sampler, resolves to the token sampled
   * after the last of them; without, to undefined once they are evaluated. A signal aborted before the tokens go
   * into a decode rejects with its reason; once they are in one, the call completes.
   */
  evaluate(sequence: LlamaContextSequence, tokens: Token[], sampler?: NativeSampler, signal?: AbortSignal): Promise<Token | undefined> {
    if (tokens.length === 0) return Promise.reject(new Error('nothing to evaluate'));
    return new Promise((resolve, reject) => {
      this.queued.push({ sequence, id: sequenceId(sequence), tokens: [...tokens], sampler, signal, resolve, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.run());
      }
    });
  }

  /**
   * Runs work that takes the context's lock itself (a sequence's trim, its adapters) as soon as the step running now
   * ends: the loop lets go of the lock and takes it back after the work.
   */
  async between<T>(work: () => Promise<T>): Promise<T> {
    this.waitingForContext++;
    try {
      return await work();
    } finally {
      this.waitingForContext--;
    }
  }

  private async run(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        // Steps run under one hold of the context's lock while nothing else waits for it: taking it at every
        // step cost about 0.1 ms of a 12 ms token.
        await this.driver.exclusive(async () => {
          do {
            await this.step();
            // The sequences that got their token queue the next one in the microtasks after it is handed out.
            await new Promise((resolve) => setImmediate(resolve));
          } while (this.queued.length > 0 && this.waitingForContext === 0);
        });
        if (this.waitingForContext > 0) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      // The context could not be held (disposed): nothing queued can be evaluated.
      for (const submission of this.queued.splice(0)) submission.reject(error);
    } finally {
      this.running = false;
      this.driver.idle();
    }
  }

  private async step(): Promise<void> {
    for (const aborted of this.queued.filter((s) => s.signal?.aborted)) aborted.reject(aborted.signal!.reason);
    const waiting = this.queued.filter((s) => !s.signal?.aborted);
    this.queued = [];
    if (waiting.length === 0) return;
    const shares = shareBatch(
      waiting.map((s) => s.tokens.length),
      this.driver.batchSize,
    );
    // A submission wants its token from this step when its last tokens are in it.
    const inBatch = waiting
      .map((submission, i) => ({ submission, chunk: submission.tokens.slice(0, shares[i]), sampledAt: -1 }))
      .filter(({ chunk }) => chunk.length > 0)
      .sort((a, b) => a.submission.id - b.submission.id);
    // What does not fit waits for the next step, ahead of anything queued meanwhile.
    this.queued = waiting.filter((s, i) => shares[i] < s.tokens.length);

    let sampled: number[];
    try {
      this.driver.initBatch(inBatch.reduce((sum, { chunk }) => sum + chunk.length, 0));
      const outputIndexes: number[] = [];
      const samplers: NativeSampler[] = [];
      for (const entry of inBatch) {
        const { submission, chunk } = entry;
        const wantsToken = submission.sampler !== undefined && chunk.length === submission.tokens.length;
        const outputs = this.driver.addToBatch(submission.id, submission.sequence.nextTokenIndex, Uint32Array.from(chunk), wantsToken ? Uint32Array.of(chunk.length - 1) : new Uint32Array(0));
        if (!wantsToken) continue;
        entry.sampledAt = outputIndexes.length;
        outputIndexes.push(outputs[0]);
        samplers.push(submission.sampler!);
      }
      sampled = await this.driver.decodeAndSample(outputIndexes, samplers);
    } catch (error) {
      // A failed decode leaves these sequences' caches unknown: their requests fail, the others go on.
      for (const { submission } of inBatch) submission.reject(error);
      this.queued = this.queued.filter((s) => !inBatch.some(({ submission }) => submission === s));
      return;
    }
    for (const { submission, chunk, sampledAt } of inBatch) {
      recordEvaluated(submission.sequence, chunk);
      submission.tokens = submission.tokens.slice(chunk.length);
      if (submission.tokens.length > 0) continue;
      if (sampledAt === -1) {
        submission.resolve(undefined);
        continue;
      }
      const token = sampled[sampledAt];
      if (token === -1) submission.reject(new Error('the sampler produced no token'));
      else submission.resolve(token as Token);
    }
  }
}

/**
 * How many tokens of each request go into a batch of `size`: each gets an even share of what is left, the shortest
 * first, so what a short one does not need goes to the longer ones. One-token steps of generating sequences always
 * fit beside a long prompt, which takes the rest. With more requests than room, the first (shortest) get one each.
 */
export function shareBatch(lengths: number[], size: number): number[] {
  const shares = lengths.map(() => 0);
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b]);
  let left = size;
  order.forEach((index, position) => {
    const evenShare = Math.max(1, Math.floor(left / (order.length - position)));
    shares[index] = Math.min(lengths[index], evenShare, left);
    left -= shares[index];
  });
  return shares;
}
