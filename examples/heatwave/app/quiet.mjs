// Toggles the worker's quiet flag in valkey-queue (run inside an app container
// by the deploy hooks):  node quiet.mjs on [SECONDS] | off | status
// "on" sets heatwave:worker:quiet with a time limit (default 600 s) so a
// deploy that fails between its hooks cannot leave the workers quiet forever.
import { RespClient } from './lib/resp.mjs';
import { QUIET_KEY, settings } from './lib/settings.mjs';

const [action = 'status', seconds = '600'] = process.argv.slice(2);
const client = new RespClient(settings().redis.queue);
let out;
if (action === 'on')
  out = await client.command('SET', QUIET_KEY, new Date().toISOString(), 'EX', Number(seconds));
else if (action === 'off') out = await client.command('DEL', QUIET_KEY);
else if (action === 'status') out = (await client.command('GET', QUIET_KEY)) ?? 'not quiet';
else {
  console.error(`usage: node quiet.mjs on [SECONDS] | off | status (got "${action}")`);
  process.exit(2);
}
console.log(`worker quiet ${action}: ${out}`);
client.close();
