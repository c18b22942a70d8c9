import { strict as assert } from 'node:assert';
import fc from 'fast-check';
import { commandHelp, parseArgs, UsageError } from './args';
import { COMMANDS } from './commands';
import { CONVERGENCE_COMMANDS } from './convergence-commands';

describe('ringdb argument parsing', () => {
  it('reads positionals and options in any order, as --opt value or --opt=value', () => {
    const pieces = fc.tuple(fc.boolean(), fc.boolean(), fc.constantFrom(0, 1, 2, 3));
    fc.assert(fc.property(pieces, ([eqNode, eqDir, at]) => {
      const groups = [eqNode ? ['--node=n2'] : ['--node', 'n2'], eqDir ? ['--dir=d x'] : ['--dir', 'd x'], ['--json']];
      const positionals = ['k', 'v w'];
      const argv = ['put', ...groups.slice(0, at).flat(), ...positionals, ...groups.slice(at).flat()];
      const p = parseArgs(argv, COMMANDS);
      assert.deepEqual(p.args, positionals);
      assert.deepEqual([...p.options.entries()].sort(), [['dir', 'd x'], ['json', true], ['node', 'n2']]);
    }));
  });

  it('says a value is missing when the next option would be taken for it, and takes other values that start with --', () => {
    assert.throws(() => parseArgs(['get', 'k', '--node', '--local'], COMMANDS), (e: unknown) =>
      e instanceof UsageError && e.message === '--node needs a value (id) before --local');
    assert.throws(() => parseArgs(['get', 'k', '--node', '--dir=x'], COMMANDS), /--node needs a value \(id\) before --dir=x/);
    assert.equal(parseArgs(['get', 'k', '--dir', '--odd-folder'], COMMANDS).options.get('dir'), '--odd-folder');
  });

  it('says where an extra number goes when the command names an option for it, and not for get\'s --r', () => {
    assert.throws(() => parseArgs(['incr', 'likes', '5'], CONVERGENCE_COMMANDS), (e: unknown) => e instanceof UsageError
      && e.message === '`ringdb incr` takes <key>, got "likes" "5" (a number goes with --by: `ringdb incr likes --by 5`)');
    assert.throws(() => parseArgs(['get', 'k', '5'], COMMANDS), (e: unknown) => e instanceof UsageError && !/a number goes/.test(e.message));
  });

  it('takes values that look like options after --', () => {
    assert.deepEqual(parseArgs(['put', '--', '--key', '-1'], COMMANDS).args, ['--key', '-1']);
  });

  it('rejects every integer option value outside its range, naming the range', () => {
    fc.assert(fc.property(fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 33 }), fc.constantFrom('3.5', 'three', '')), (v) => {
      assert.throws(() => parseArgs(['start', '--nodes', String(v)], COMMANDS), (e: unknown) =>
        e instanceof UsageError && e.command === 'start' && /--nodes must be an integer from 1 to 32/.test(e.message));
    }));
    assert.equal(parseArgs(['start', '--nodes', '32'], COMMANDS).options.get('nodes'), 32);
  });

  it('refuses arguments that were not UTF-8 on the command line, which would turn different binary keys into the same text', () => {
    // What Node makes of the bytes ff fe and fe fd in argv: both become "\uFFFD\uFFFD".
    const asNodeDecodes = (bytes: number[]): string => Buffer.from(bytes).toString('utf8');
    assert.equal(asNodeDecodes([0xff, 0xfe]), asNodeDecodes([0xfe, 0xfd]));
    assert.throws(() => parseArgs(['put', asNodeDecodes([0x6b, 0xff]), 'v'], COMMANDS), (e: unknown) =>
      e instanceof UsageError && /<key> holds bytes that are not UTF-8/.test(e.message));
    assert.throws(() => parseArgs(['put', 'k', asNodeDecodes([0xc3])], COMMANDS), /<value> holds bytes that are not UTF-8/);
    assert.throws(() => parseArgs(['get', 'k', '--node', asNodeDecodes([0x80])], COMMANDS), /--node holds bytes that are not UTF-8/);
    assert.deepEqual(parseArgs(['put', 'clé', '値'], COMMANDS).args, ['clé', '値'], 'UTF-8 text passes');
  });

  it('names the accepted options and arguments in its errors', () => {
    assert.throws(() => parseArgs(['kill'], COMMANDS), /`ringdb kill` takes <node>, got none/);
    assert.throws(() => parseArgs(['status', 'extra'], COMMANDS), /`ringdb status` takes no arguments, got "extra"/);
    assert.throws(() => parseArgs(['stop', '--json=yes'], COMMANDS), /--json takes no value/);
    assert.throws(() => parseArgs(['help', 'nope'], COMMANDS), /unknown command "nope"/);
  });

  it('answers --help without checking arguments, and documents every option', () => {
    assert.equal(parseArgs(['put', '--help'], COMMANDS).help, true);
    assert.deepEqual(parseArgs(['help', 'logs'], COMMANDS), { command: 'logs', args: [], options: new Map(), help: true });
    for (const c of COMMANDS) {
      const text = commandHelp(c);
      for (const o of c.options) assert.match(text, new RegExp(`--${o.name}\\b`));
    }
  });
});
