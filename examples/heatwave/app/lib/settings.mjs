// The app's settings, all from the environment (set by config/deploy.yml).
import { hostname } from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { parseAddress } from './resp.mjs';

function need(name) {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`heatwave: set ${name} (see config/deploy.yml)`);
  return value;
}

export function settings() {
  const revisionFile = new URL('../REVISION', import.meta.url);
  return {
    port: Number(process.env.PORT ?? 3000),
    version: process.env.KAMAL_VERSION ?? process.env.WHARF_VERSION ?? 'dev',
    revision: existsSync(revisionFile) ? readFileSync(revisionFile, 'utf8').trim() : 'unknown',
    host: process.env.KAMAL_HOST ?? hostname(),
    environment: process.env.HEATWAVE_ENV ?? 'development',
    container: hostname(),
    database: {
      host: need('DATABASE_HOST'),
      port: Number(process.env.DATABASE_PORT ?? 5432),
      user: need('DATABASE_USER'),
      password: need('DATABASE_PASSWORD'),
      database: process.env.DATABASE_NAME ?? need('DATABASE_USER'),
      max: Number(process.env.DATABASE_POOL ?? 4),
    },
    redis: {
      cache: parseAddress(need('REDIS_CACHE_HOST')),
      sessions: parseAddress(need('REDIS_SESSIONS_HOST')),
      queue: parseAddress(need('REDIS_QUEUE_HOST')),
    },
    smtp: {
      host: need('SMTP_ADDRESS'),
      port: Number(process.env.SMTP_PORT ?? 25),
      from: process.env.MAIL_FROM ?? 'Heatwave <noreply@heatwave.test>',
    },
  };
}

/** Names shared by the web and the worker. */
export const QUEUE = 'heatwave:queue:mail';
export const PROCESSING_PREFIX = 'heatwave:queue:mail:processing:';
export const QUIET_KEY = 'heatwave:worker:quiet';
export const HEARTBEAT_PREFIX = 'heatwave:worker:alive:';
