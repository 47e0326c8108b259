/**
 * The `synod` CLI run as a child process, as an operator runs it: exit codes, what it writes,
 * and what it prints.
 */
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { toHex } from '../../crypto/hash.js';
import { genesisHash, loadGenesisFile } from '../../genesis/genesis.js';
import { type Result, runSynod } from './run-synod.js';

/** Runs `synod ARGS` in `cwd`. */
function synod(args: string[], cwd: string): Promise<Result> {
  return runSynod(args, cwd, ['SYNOD_DEBUG']);
}

function assertNoStack(r: Result): void {
  assert.doesNotMatch(r.stderr, /\n\s+at /, `a stack trace was printed:\n${r.stderr}`);
}

let work: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), 'synod-cli-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('synod CLI', () => {
  test('help, version and usage errors', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    // Independent runs go in parallel: each one mostly waits for its own start-up.
    const [help, version, none, unknown, badValue] = await Promise.all([
      synod(['--help'], work),
      synod(['--version'], work),
      synod([], work),
      synod(['frobnicate'], work),
      synod(['genesis', 'init', '--validators', 'many', '--out', 'x'], work),
    ]);
    assert.equal(help.code, 0);
    for (const cmd of ['keys', 'genesis', 'devnet']) assert.match(help.stdout, new RegExp(`\\n  ${cmd} `));
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), pkg.version);
    assert.equal(none.code, 2);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.equal(badValue.code, 2);
    assert.match(badValue.stderr, /--validators/);
  });

  test('genesis init, validate, hash; a broken copy fails naming the field', async () => {
    const out = join(work, 'net');
    const init = await synod(
      [
        'genesis',
        'init',
        '--validators',
        '4',
        '--out',
        'net',
        '--chain-id',
        'cli-test',
        '--base-port',
        '31000',
      ],
      work,
    );
    assert.equal(init.code, 0, init.stderr);
    const genesisFile = join(out, 'genesis.json');
    assert.ok(init.stdout.includes(join('net', 'genesis.json')));
    for (let i = 0; i < 4; i++) {
      for (const name of [`validator-${i}.json`, `member-${i}.json`]) {
        const f = join(out, 'keys', name);
        assert.equal((await stat(f)).mode & 0o777, 0o600, `${name} must be private`);
        assert.ok(init.stdout.includes(join('net', 'keys', name)), `init prints ${name}`);
      }
    }
    const doc = await loadGenesisFile(genesisFile);
    assert.equal(doc.chainId, 'cli-test');
    assert.equal(doc.validators.length, 4);
    assert.deepEqual(doc.validators[3]!.p2p, ['/ip4/127.0.0.1/tcp/31103']);
    const expectedHash = toHex(genesisHash(doc));
    assert.ok(init.stdout.includes(expectedHash));

    const broken = JSON.parse(await readFile(genesisFile, 'utf8'));
    broken.validators[2].publicKey = '0xabcd';
    const brokenFile = join(work, 'broken.json');
    await writeFile(brokenFile, JSON.stringify(broken));
    const keyFile = join(out, 'keys', 'validator-2.json');
    const secret = (JSON.parse(await readFile(keyFile, 'utf8')) as { secretKey: string }).secretKey;

    const [validate, hash, again, bad, absent, show, table] = await Promise.all([
      synod(['genesis', 'validate', genesisFile], work),
      synod(['genesis', 'hash', genesisFile], work),
      // The same folder again: refused, nothing replaced.
      synod(['genesis', 'init', '--validators', '4', '--out', 'net'], work),
      synod(['genesis', 'validate', brokenFile], work),
      synod(['genesis', 'validate', join(work, 'absent.json')], work),
      synod(['keys', 'show', '--json', keyFile], work),
      synod(['keys', 'show', keyFile], work),
    ]);

    assert.equal(validate.code, 0, validate.stderr);
    assert.match(validate.stdout, new RegExp(`genesis hash\\s+${expectedHash}\\n`));
    assert.equal(hash.code, 0);
    assert.equal(hash.stdout, `${expectedHash}\n`);

    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assertNoStack(again);
    assert.equal(toHex(genesisHash(await loadGenesisFile(genesisFile))), expectedHash);

    assert.equal(bad.code, 1);
    assert.equal(bad.stdout, '');
    assert.match(bad.stderr, /validators\[2\]\.publicKey: expected 0x \+ 64 hex/);
    assertNoStack(bad);
    assert.equal(absent.code, 1);
    assert.match(absent.stderr, /absent\.json: cannot read the genesis file:\n {2}no such file/);

    // keys show on a generated validator key: address and public key, never the secret.
    assert.equal(show.code, 0, show.stderr);
    const shown = JSON.parse(show.stdout);
    assert.deepEqual(Object.keys(shown), ['address', 'publicKey']);
    assert.equal(shown.publicKey, toHex(doc.validators[2]!.publicKey));
    assert.ok(!show.stdout.includes(secret.slice(2)));
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(`public key\\s+${shown.publicKey}`));
    assert.ok(!table.stdout.includes(secret.slice(2)));
  });

  test('keys generate with a passphrase file, then show', async () => {
    const passFile = join(work, 'pass.txt');
    await writeFile(passFile, 'correct horse battery staple\n');
    await chmod(passFile, 0o600);
    const keyFile = join(work, 'client.json');
    const gen = await synod(
      ['keys', 'generate', '--out', keyFile, '--passphrase-file', passFile, '--json'],
      work,
    );
    assert.equal(gen.code, 0, gen.stderr);
    const made = JSON.parse(gen.stdout) as { address: string; publicKey: string; encrypted: boolean };
    assert.equal(made.encrypted, true);
    assert.equal((await stat(keyFile)).mode & 0o777, 0o600);
    const stored = JSON.parse(await readFile(keyFile, 'utf8'));
    assert.equal(stored.secretKey, undefined, 'an encrypted file holds no clear secret');

    const wrongFile = join(work, 'wrong.txt');
    await writeFile(wrongFile, 'not it\n');
    const emptyPass = join(work, 'empty.txt');
    await writeFile(emptyPass, '\n');
    const [show, verified, wrong, overwrite, empty] = await Promise.all([
      // The public half reads without the passphrase; the passphrase verifies the secret.
      synod(['keys', 'show', '--json', keyFile], work),
      synod(['keys', 'show', keyFile, '--passphrase-file', passFile], work),
      synod(['keys', 'show', keyFile, '--passphrase-file', wrongFile], work),
      synod(['keys', 'generate', '--out', keyFile], work),
      synod(['keys', 'generate', '--out', join(work, 'x.json'), '--passphrase-file', emptyPass], work),
    ]);
    assert.equal(show.code, 0, show.stderr);
    assert.deepEqual(JSON.parse(show.stdout), { address: made.address, publicKey: made.publicKey });
    assert.equal(verified.code, 0, verified.stderr);
    assert.match(verified.stdout, /present and matches the public key/);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /passphrase/i);
    assertNoStack(wrong);
    assert.equal(overwrite.code, 1);
    assert.match(overwrite.stderr, /exists/);
    assertNoStack(overwrite);
    assert.deepEqual(JSON.parse(await readFile(keyFile, 'utf8')), stored);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /empty/);
  });
});
