// Command-line parsing for `ringdb`: each command declares its positional arguments and options,
// and anything else is a UsageError that names the problem and what the command accepts.

export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose help applies, if known. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  name: string;
  /** 'flag' takes no value. */
  kind: 'flag' | 'string' | 'int';
  min?: number;
  max?: number;
  /** Shown in help: what the value is. */
  value?: string;
  help: string;
  /** A bare number after the arguments is meant for this option (`incr likes 5` for --by 5), and the usage error says so. */
  takesStrayNumber?: true;
}

export interface CommandSpec {
  name: string;
  /** Positional arguments in order; a trailing '?' marks an optional one. */
  args: string[];
  options: OptionSpec[];
  summary: string;
  /** Extra lines of help after the options. */
  details?: string[];
}

export interface Parsed {
  command: string;
  args: string[];
  options: Map<string, string | number | boolean>;
  help: boolean;
}

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'json', kind: 'flag', help: 'print machine-readable JSON on stdout' },
  { name: 'help', kind: 'flag', help: 'show this help' },
];

function optionValue(cmd: CommandSpec, opt: OptionSpec, raw: string): string | number {
  if (opt.kind === 'int') {
    const n = Number(raw);
    const min = opt.min ?? Number.MIN_SAFE_INTEGER;
    const max = opt.max ?? Number.MAX_SAFE_INTEGER;
    if (!/^-?\d+$/.test(raw) || n < min || n > max) {
      throw new UsageError(`--${opt.name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`, cmd.name);
    }
    return n;
  }
  if (raw.length === 0) throw new UsageError(`--${opt.name} must not be empty`, cmd.name);
  return raw;
}

/**
 * Node decodes the command line as UTF-8 and turns bytes that are not into U+FFFD, so two
 * different binary keys would arrive as the same text and overwrite each other: refused instead
 * (a real U+FFFD cannot be told apart and is refused too).
 */
function checkUtf8(cmd: CommandSpec, what: string, value: string): void {
  if (value.includes('\uFFFD')) {
    throw new UsageError(`${what} holds bytes that are not UTF-8 (they arrive as U+FFFD "\uFFFD"); keys, values and names are UTF-8 text`, cmd.name);
  }
}

/** Parses `argv` (without node and the script) against the command table. */
export function parseArgs(argv: string[], commands: CommandSpec[]): Parsed {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const topic = name === 'help' ? rest[0] : undefined;
    if (topic !== undefined && !commands.some((c) => c.name === topic)) throw new UsageError(`unknown command ${JSON.stringify(topic)}`);
    return { command: topic ?? '', args: [], options: new Map(), help: true };
  }
  const cmd = commands.find((c) => c.name === name);
  if (!cmd) throw new UsageError(`unknown command ${JSON.stringify(name)}; commands are ${commands.map((c) => c.name).join(', ')}`);
  const all = [...cmd.options, ...GLOBAL_OPTIONS];
  const options = new Map<string, string | number | boolean>();
  const args: string[] = [];
  let onlyPositional = false;
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i];
    if (onlyPositional || !token.startsWith('--') || token === '-') {
      args.push(token);
      continue;
    }
    if (token === '--') {
      onlyPositional = true;
      continue;
    }
    const eq = token.indexOf('=');
    const key = token.slice(2, eq < 0 ? undefined : eq);
    const opt = all.find((o) => o.name === key);
    if (!opt) {
      throw new UsageError(`unknown option --${key} for \`ringdb ${cmd.name}\`; accepted: ${all.map((o) => `--${o.name}`).join(', ')}`, cmd.name);
    }
    if (opt.kind === 'flag') {
      if (eq >= 0) throw new UsageError(`--${opt.name} takes no value`, cmd.name);
      options.set(opt.name, true);
      continue;
    }
    const raw = eq >= 0 ? token.slice(eq + 1) : rest[++i];
    if (raw === undefined) throw new UsageError(`--${opt.name} needs a value (${opt.value ?? opt.kind})`, cmd.name);
    // `--node --local`: the value was forgotten, and the next option would be taken for it.
    if (eq < 0 && raw.startsWith('--') && all.some((o) => raw === `--${o.name}` || raw.startsWith(`--${o.name}=`))) {
      throw new UsageError(`--${opt.name} needs a value (${opt.value ?? opt.kind}) before ${raw}`, cmd.name);
    }
    options.set(opt.name, optionValue(cmd, opt, raw));
  }
  const help = options.get('help') === true;
  if (!help) {
    const required = cmd.args.filter((a) => !a.endsWith('?')).length;
    if (args.length < required || args.length > cmd.args.length) {
      const expected = cmd.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`)).join(' ');
      // `incr likes 5`: the extra number is meant for --by. Not so for `get k 5` (a value's last word, more likely than an R).
      const meant = cmd.options.find((o) => o.takesStrayNumber);
      const extra = args[cmd.args.length];
      const hint = meant && args.length === cmd.args.length + 1 && /^\d+$/.test(extra)
        ? ` (a number goes with --${meant.name}: \`ringdb ${cmd.name} ${args.slice(0, -1).join(' ')} --${meant.name} ${extra}\`)` : '';
      throw new UsageError(`\`ringdb ${cmd.name}\` takes ${expected || 'no arguments'}, got ${args.length ? args.map((a) => JSON.stringify(a)).join(' ') : 'none'}${hint}`, cmd.name);
    }
    args.forEach((a, i) => checkUtf8(cmd, `<${cmd.args[i].replace(/\?$/, '')}>`, a));
    for (const [name, value] of options) if (typeof value === 'string') checkUtf8(cmd, `--${name}`, value);
  }
  return { command: cmd.name, args, options, help };
}

export function commandHelp(cmd: CommandSpec): string {
  const usage = [`ringdb ${cmd.name}`, ...cmd.args.map((a) => (a.endsWith('?') ? `[${a.slice(0, -1)}]` : `<${a}>`)), '[options]'].join(' ');
  const opts = [...cmd.options, ...GLOBAL_OPTIONS].map((o) => {
    const left = `  --${o.name}${o.kind === 'flag' ? '' : ` <${o.value ?? o.kind}>`}`;
    return `${left.padEnd(26)}${o.help}`;
  });
  return [`${cmd.summary}`, '', `usage: ${usage}`, '', 'options:', ...opts, ...(cmd.details ? ['', ...cmd.details] : [])].join('\n');
}

export function generalHelp(commands: CommandSpec[]): string {
  return [
    'ringdb: run a local RingDB cluster and read and write its keys.',
    '',
    'usage: ringdb <command> [arguments] [options]',
    '',
    'commands:',
    ...commands.map((c) => `  ${c.name.padEnd(Math.max(...commands.map((d) => d.name.length)) + 2)}${c.summary}`),
    '',
    'Every command takes --help and --json. Exit codes: 0 ok, 1 the operation failed,',
    '2 bad usage or input, 3 no cluster running in the data folder.',
  ].join('\n');
}
