/**
 * One line of `-v` output per SSH log event, in the spirit of Kamal's
 * verbose output ("Running docker ... on host"). Text in events is already
 * redacted by the pool.
 */
import type { SshLogEvent } from './pool.js';

export function formatSshLogEvent(event: SshLogEvent): string {
  switch (event.type) {
    case 'connect':
      return `[${event.host}] connected as ${event.user}${event.port === 22 ? '' : ` port ${event.port}`}${event.via ? ` via ${event.via}` : ''} in ${event.ms} ms${event.hostKey === 'recorded' ? ' (new host key recorded)' : event.hostKey === 'unchecked' ? ' (host key not checked: StrictHostKeyChecking no)' : ''}`;
    case 'exec':
      return `[${event.host}] #${event.id}${event.step ? ` ${event.step}:` : ''} ${event.env && event.env.length > 0 ? `(env ${event.env.join(' ')}) ` : ''}$ ${event.command}`;
    case 'exit':
      return `[${event.host}] #${event.id} exit ${event.code} after ${event.ms} ms`;
    case 'upload':
      return `[${event.host}] #${event.id}${event.step ? ` ${event.step}:` : ''} upload ${event.path} (${event.bytes} bytes, mode ${event.mode}${event.owner ? `, owner ${event.owner}` : ''})`;
    case 'forward':
      return `[${event.host}] forwarding ${event.remote} on the server to ${event.local} here`;
    case 'close':
      return `[${event.host}] connection closed`;
    case 'debug':
      return `[${event.host}] ssh: ${event.message}`;
  }
}
