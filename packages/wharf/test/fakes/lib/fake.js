'use strict';
// Shared plumbing of the fake password-manager CLIs in ../bin.
//
// WHARF_FAKE_VAULT names a JSON file holding one section per CLI (see
// ../README.md); fakes that change state (sign-in, unlock) write it back.
// WHARF_FAKE_LOG, when set, names a file that gets one JSON line per
// invocation: {"cli": "op", "argv": [...], "env": {...}} so tests can assert
// the exact calls.
const fs = require('node:fs');

const LOGGED_ENV = [
  'BW_SESSION',
  'BWS_ACCESS_TOKEN',
  'DOPPLER_TOKEN',
  'AWS_PROFILE',
  'OP_SERVICE_ACCOUNT_TOKEN',
  'OP_ACCOUNT',
  'MASTERPW',
];

class Exit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

function fake(cli, section) {
  const argv = process.argv.slice(2);
  const env = {};
  for (const name of LOGGED_ENV) if (process.env[name] !== undefined) env[name] = process.env[name];
  if (process.env.WHARF_FAKE_LOG)
    fs.appendFileSync(process.env.WHARF_FAKE_LOG, `${JSON.stringify({ cli, argv, env })}\n`);
  const vaultPath = process.env.WHARF_FAKE_VAULT;
  let vault = {};
  if (vaultPath) {
    try {
      vault = JSON.parse(fs.readFileSync(vaultPath, 'utf8'));
    } catch (error) {
      process.stderr.write(`fake ${cli}: cannot read WHARF_FAKE_VAULT ${vaultPath}: ${error.message}\n`);
      process.exit(2);
    }
  }
  if (!vault[section]) vault[section] = {};
  return {
    argv,
    data: vault[section],
    save() {
      if (vaultPath) fs.writeFileSync(vaultPath, `${JSON.stringify(vault, null, 2)}\n`);
    },
    out(text) {
      process.stdout.write(text);
    },
    err(text) {
      process.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
    },
    fail(message, code = 1) {
      process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
      throw new Exit(code);
    },
  };
}

/** Runs main(ctx), turning ctx.fail into the exit status; `section` is the vault key (default: the CLI name). */
function run(cli, main, section = cli) {
  const ctx = fake(cli, section);
  try {
    main(ctx);
  } catch (error) {
    if (error instanceof Exit) {
      process.exitCode = error.code;
      return;
    }
    process.stderr.write(`fake ${cli}: ${error && error.stack ? error.stack : error}\n`);
    process.exitCode = 2;
  }
}

/**
 * GNU-style option parsing: --name value, --name=value, -x value, boolean
 * flags; options may come anywhere unless stopAtPositional. Unknown options
 * fail, as the real CLIs reject them. `lists` take every following word that
 * does not start with "--" (the AWS CLI's list arguments).
 */
function parseArgs(ctx, args, spec) {
  const valued = new Set(spec.valued || []);
  const flags = new Set(spec.flags || []);
  const repeated = new Set(spec.repeated || []);
  const lists = new Set(spec.lists || []);
  const aliases = spec.aliases || {};
  const options = {};
  const positional = [];
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-' || (positional.length > 0 && spec.stopAtPositional)) {
      positional.push(arg);
      continue;
    }
    let value;
    const eq = arg.indexOf('=');
    if (eq > 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const name = aliases[arg] || arg;
    if (flags.has(name)) {
      if (value !== undefined) options[name] = value;
      else options[name] = true;
    } else if (lists.has(name)) {
      const list = value !== undefined ? [value] : [];
      while (i + 1 < args.length && !args[i + 1].startsWith('--')) list.push(args[++i]);
      options[name] = list;
    } else if (valued.has(name) || repeated.has(name)) {
      if (value === undefined) {
        if (i + 1 >= args.length)
          ctx.fail(spec.missing ? spec.missing(name) : `flag needs an argument: ${name}`);
        value = args[++i];
      }
      if (repeated.has(name)) (options[name] = options[name] || []).push(value);
      else options[name] = value;
    } else {
      ctx.fail(spec.unknown ? spec.unknown(arg) : `unknown flag: ${arg}`);
    }
  }
  return { options, positional };
}

module.exports = { run, parseArgs };
