import { Worker } from 'node:worker_threads';
import { PeftConversionError, type PeftConversionReason } from '../adapterErrors.js';
import type { PeftConversionOptions, PeftConversionResult } from './convertPeftToGguf.js';

type WorkerReply = { ok: true; result: PeftConversionResult } | { ok: false; reason?: PeftConversionReason; message: string };

/**
 * Converts a PEFT export in a worker thread: conversion is CPU-bound for seconds on 8B-sized adapters, and the
 * server must keep answering meanwhile. Typed conversion errors cross back as the same error class.
 */
export function convertPeftInWorker(options: PeftConversionOptions): Promise<PeftConversionResult> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./conversionWorker.mjs', import.meta.url), { workerData: options });
    worker.once('message', (reply: WorkerReply) => {
      if (reply.ok) resolve(reply.result);
      else reject(reply.reason ? new PeftConversionError(reply.reason, reply.message) : new Error(reply.message));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`the conversion worker exited with code ${code}`));
    });
  });
}
