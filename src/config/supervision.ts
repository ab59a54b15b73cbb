import { z } from 'zod';

/**
 * What the launcher tells the serving process it supervises, through environment variables it sets itself (they
 * are not user settings, so they are not in SERVER_OPTIONS).
 */
export const SUPERVISION_ENV = {
  /** Set in the serving process the launcher started, so bin/adaptd.js runs the server instead of supervising. */
  supervised: 'ADAPTD_SUPERVISED',
  /** How many times the launcher has restarted the serving process after a crash. */
  restarts: 'ADAPTD_RESTARTS',
} as const;

const restartsSchema = z.coerce.number().int().min(0).catch(0);

export interface SupervisionState {
  /** Restarts after crashes so far (0 when not supervised). */
  restarts: number;
}

export function supervisionState(env: NodeJS.ProcessEnv = process.env): SupervisionState {
  return { restarts: restartsSchema.parse(env[SUPERVISION_ENV.restarts] ?? 0) };
}
