/** Devnet generation: the files it writes, their modes, and that keys and genesis agree. */
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { addressOf } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import { createDevnet, DevnetError } from '../../genesis/devnet.js';
import { GenesisError, genesisHash, loadGenesisFile } from '../../genesis/genesis.js';
import { readKeyFile } from '../../node/keyfile.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'synod-devnet-'));
  dirs.push(d);
  return d;
}
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('createDevnet', () => {
  test('writes a valid genesis and one key file per validator and member admin', async () => {
    const out = join(await tempDir(), 'net');
    const time = Date.UTC(2026, 5, 1);
    const net = await createDevnet({
      validators: 4,
      outDir: out,
      chainId: 'dev-test',
      basePort: 30_000,
      balance: 77n,
      genesisTime: time,
    });

    assert.equal(net.genesisFile, join(out, 'genesis.json'));
    assert.deepEqual((await readdir(join(out, 'keys'))).sort(), [
      'member-0.json',
      'member-1.json',
      'member-2.json',
      'member-3.json',
      'validator-0.json',
      'validator-1.json',
      'validator-2.json',
      'validator-3.json',
    ]);
    const doc = await loadGenesisFile(net.genesisFile);
    assert.deepEqual(doc, net.genesis);
    assert.equal(net.genesisHash, toHex(genesisHash(doc)));
    assert.equal(doc.chainId, 'dev-test');
    assert.equal(doc.genesisTime, time);
    assert.deepEqual(
      doc.members,
      [0, 1, 2, 3].map((i) => ({ id: `member-${i}`, name: `Member ${i}` })),
    );

    for (let i = 0; i < 4; i++) {
      const v = net.validators[i]!;
      const a = net.admins[i]!;
      assert.equal(v.keyFile, join(out, 'keys', `validator-${i}.json`));
      assert.equal(a.keyFile, join(out, 'keys', `member-${i}.json`));
      for (const f of [v.keyFile, a.keyFile]) assert.equal((await stat(f)).mode & 0o777, 0o600, f);

      const vk = await readKeyFile(v.keyFile);
      assert.deepEqual(vk.publicKey, doc.validators[i]!.publicKey);
      assert.equal(v.address, toHex(addressOf(vk.publicKey)));
      assert.equal(v.publicKey, toHex(vk.publicKey));
      assert.equal(doc.validators[i]!.memberId, `member-${i}`);
      assert.deepEqual(doc.validators[i]!.p2p, [`/ip4/127.0.0.1/tcp/${30_100 + i}`]);
      assert.equal(v.p2pPort, 30_100 + i);

      const ak = await readKeyFile(a.keyFile);
      assert.deepEqual(ak.publicKey, doc.accounts[i]!.publicKey);
      assert.equal(a.address, toHex(ak.address));
      assert.deepEqual(doc.accounts[i], {
        publicKey: ak.publicKey,
        memberId: `member-${i}`,
        roles: ['admin'],
        balance: 77n,
      });
      // Validator and admin keys are distinct keys.
      assert.notDeepEqual(vk.publicKey, ak.publicKey);
    }
  });

  test('refuses to overwrite an existing devnet unless forced', async () => {
    const out = await tempDir();
    const first = await createDevnet({ validators: 1, outDir: out });
    const before = await readFile(first.genesisFile, 'utf8');
    await assert.rejects(createDevnet({ validators: 1, outDir: out }), (err: unknown) => {
      assert.ok(err instanceof DevnetError);
      assert.equal(err.code, 'DEVNET_EXISTS');
      assert.equal(err.path, first.genesisFile);
      return true;
    });
    assert.equal(await readFile(first.genesisFile, 'utf8'), before);
    assert.deepEqual(
      (await readKeyFile(first.validators[0]!.keyFile)).publicKey,
      first.genesis.validators[0]!.publicKey,
    );

    const second = await createDevnet({ validators: 1, outDir: out, force: true });
    assert.notEqual(second.validators[0]!.publicKey, first.validators[0]!.publicKey);
    assert.deepEqual(
      (await readKeyFile(second.validators[0]!.keyFile)).publicKey,
      second.genesis.validators[0]!.publicKey,
    );
  });

  test('refuses bad options before writing anything', async () => {
    const out = await tempDir();
    for (const bad of [
      { validators: 0 },
      { validators: 101 },
      { validators: 1.5 },
      { validators: 4, basePort: 65_500 },
    ]) {
      await assert.rejects(createDevnet({ ...bad, outDir: out }), {
        name: 'DevnetError',
        code: 'DEVNET_BAD_OPTION',
      });
    }
    await assert.rejects(
      createDevnet({ validators: 2, outDir: out, chainId: 'Not Valid' }),
      (err: unknown) => {
        assert.ok(err instanceof GenesisError);
        assert.ok(err.problems.some((p) => p.startsWith('chainId:')));
        return true;
      },
    );
    await assert.rejects(createDevnet({ validators: 2, outDir: out, balance: 1n << 256n }), GenesisError);
    assert.deepEqual(await readdir(out), []);
  });
});
