import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { addressOf, generateKeyPair, publicKeyFromSecret } from '../../crypto/ed25519.js';
import { toHex } from '../../crypto/hash.js';
import {
  decodeKeyFile,
  decodePublicKeyFile,
  encodeKeyFile,
  KeyFileError,
  type KeyFileErrorCode,
  type KeyFileJson,
  readKeyFile,
  readPublicKeyFile,
  SCRYPT_N_DEFAULT,
  validateKeyFile,
  writeKeyFile,
} from '../../node/keyfile.js';

/** Low scrypt cost for everything except the one test of the default. */
const FAST = { scryptN: 2 ** 10 };

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'synod-keyfile-test-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: KeyFileErrorCode, field?: string) {
  const run = typeof p === 'function' ? async () => p() : () => p;
  await assert.rejects(run, (e: unknown) => {
    assert.ok(e instanceof KeyFileError, `expected KeyFileError, got ${String(e)}`);
    assert.equal(e.name, 'KeyFileError');
    assert.equal(e.code, code, e.message);
    if (field !== undefined) {
      assert.equal(e.field, field, e.message);
      assert.ok(e.message.includes(`'${field}'`), `message names the field: ${e.message}`);
    }
    return true;
  });
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const flipHex = (s: string, nibble = 2) => {
  const c = s[nibble]!;
  return s.slice(0, nibble) + (c === '0' ? '1' : '0') + s.slice(nibble + 1);
};

describe('key files: plain', () => {
  it('round trip through a file with mode 0600 and created parent folders', async () => {
    const kp = generateKeyPair();
    const path = join(dir, 'plain', 'nested', 'validator.json');
    const pub = await writeKeyFile(path, kp.secretKey, { label: 'validator 1' });
    assert.deepEqual(pub.publicKey, kp.publicKey);
    assert.deepEqual(pub.address, addressOf(kp.publicKey));
    assert.equal(pub.encrypted, false);

    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'plain', 'nested'))).mode & 0o777, 0o700);

    const json = JSON.parse(await readFile(path, 'utf8')) as KeyFileJson;
    assert.deepEqual(Object.keys(json), ['version', 'type', 'label', 'address', 'publicKey', 'secretKey']);
    assert.equal(json.version, 1);
    assert.equal(json.type, 'ed25519');
    assert.equal(json.secretKey, toHex(kp.secretKey));
    assert.equal(json.address, toHex(addressOf(kp.publicKey)));

    const keys = await readKeyFile(path);
    assert.deepEqual(keys.secretKey, kp.secretKey);
    assert.deepEqual(keys.publicKey, kp.publicKey);
    assert.deepEqual(keys.address, addressOf(kp.publicKey));
    assert.equal(keys.label, 'validator 1');

    const p = await readPublicKeyFile(path);
    assert.deepEqual(p.publicKey, kp.publicKey);
    assert.equal(p.encrypted, false);
  });

  it('never replaces an existing key unless asked, and leaves no temporary files', async () => {
    const sub = join(dir, 'overwrite');
    const path = join(sub, 'key.json');
    const first = generateKeyPair();
    const second = generateKeyPair();
    await writeKeyFile(path, first.secretKey);
    await rejectsWith(writeKeyFile(path, second.secretKey), 'EXISTS');
    assert.deepEqual((await readKeyFile(path)).secretKey, first.secretKey);
    await writeKeyFile(path, second.secretKey, { overwrite: true });
    assert.deepEqual((await readKeyFile(path)).secretKey, second.secretKey);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.deepEqual(await readdir(sub), ['key.json']);
  });

  it('a failed write reports IO and leaves nothing behind', async () => {
    const blocker = join(dir, 'blocker');
    await writeFile(blocker, 'not a folder');
    await rejectsWith(writeKeyFile(join(blocker, 'key.json'), generateKeyPair().secretKey), 'IO');
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.endsWith('.tmp')),
      [],
    );
  });
});

describe('key files: encrypted', () => {
  it('round trip with the default scrypt cost; the public half reads without a passphrase', async () => {
    const kp = generateKeyPair();
    const path = join(dir, 'enc', 'key.json');
    const pub = await writeKeyFile(path, kp.secretKey, { passphrase: 'correct horse', label: 'ops' });
    assert.equal(pub.encrypted, true);
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const text = await readFile(path, 'utf8');
    assert.ok(!text.includes(Buffer.from(kp.secretKey).toString('hex')), 'the secret is not in the clear');
    const json = JSON.parse(text) as KeyFileJson;
    assert.equal(json.secretKey, undefined);
    const c = json.crypto!;
    assert.equal(c.kdf, 'scrypt');
    assert.equal(c.cipher, 'aes-256-gcm');
    assert.deepEqual([c.kdfparams.N, c.kdfparams.r, c.kdfparams.p], [SCRYPT_N_DEFAULT, 8, 1]);
    assert.equal(SCRYPT_N_DEFAULT, 2 ** 15);
    assert.equal(c.kdfparams.salt.length, 2 + 64);
    assert.equal(c.iv.length, 2 + 24);
    assert.equal(c.tag.length, 2 + 32);
    assert.equal(c.ciphertext.length, 2 + 64);

    const p = await readPublicKeyFile(path);
    assert.deepEqual(p.publicKey, kp.publicKey);
    assert.equal(p.label, 'ops');
    assert.equal(p.encrypted, true);

    await rejectsWith(readKeyFile(path), 'PASSPHRASE_REQUIRED');
    await rejectsWith(readKeyFile(path, { passphrase: 'wrong horse' }), 'WRONG_PASSPHRASE');
    const keys = await readKeyFile(path, { passphrase: 'correct horse' });
    assert.deepEqual(keys.secretKey, kp.secretKey);
    assert.deepEqual(keys.publicKey, kp.publicKey);
    assert.deepEqual(keys.address, addressOf(kp.publicKey));
  });

  it('a wrong passphrase is a KeyFileError with code WRONG_PASSPHRASE', async () => {
    const json = await encodeKeyFile(generateKeyPair().secretKey, { ...FAST, passphrase: 'a' });
    for (const wrong of ['b', 'A', 'a ', '']) {
      await rejectsWith(decodeKeyFile(json, { passphrase: wrong }), 'WRONG_PASSPHRASE');
    }
  });

  it('fresh salt and iv every time', async () => {
    const sk = generateKeyPair().secretKey;
    const a = await encodeKeyFile(sk, { ...FAST, passphrase: 'p' });
    const b = await encodeKeyFile(sk, { ...FAST, passphrase: 'p' });
    assert.notEqual(a.crypto!.kdfparams.salt, b.crypto!.kdfparams.salt);
    assert.notEqual(a.crypto!.iv, b.crypto!.iv);
    assert.notEqual(a.crypto!.ciphertext, b.crypto!.ciphertext);
  });

  it('passphrases are compared after Unicode NFC normalisation', async () => {
    const sk = generateKeyPair().secretKey;
    const json = await encodeKeyFile(sk, { ...FAST, passphrase: 'caf\u00e9' }); // composed é
    const keys = await decodeKeyFile(json, { passphrase: 'cafe\u0301' }); // e + combining accent
    assert.deepEqual(keys.secretKey, sk);
  });

  it('any altered byte of salt, iv, ciphertext or tag, or another N, fails to decrypt', async () => {
    const sk = generateKeyPair().secretKey;
    const json = await encodeKeyFile(sk, { ...FAST, passphrase: 'pw' });
    const c = json.crypto!;
    const variants: [string, (j: KeyFileJson) => void][] = [
      ['salt', (j) => (j.crypto!.kdfparams.salt = flipHex(c.kdfparams.salt))],
      ['iv', (j) => (j.crypto!.iv = flipHex(c.iv))],
      ['ciphertext first byte', (j) => (j.crypto!.ciphertext = flipHex(c.ciphertext))],
      [
        'ciphertext last byte',
        (j) => (j.crypto!.ciphertext = flipHex(c.ciphertext, c.ciphertext.length - 1)),
      ],
      ['tag', (j) => (j.crypto!.tag = flipHex(c.tag, 10))],
      ['N', (j) => (j.crypto!.kdfparams.N = 2 ** 11)],
      ['r', (j) => (j.crypto!.kdfparams.r = 4)],
    ];
    for (const [name, change] of variants) {
      const bad = clone(json);
      change(bad);
      await rejectsWith(decodeKeyFile(bad, { passphrase: 'pw' }), 'WRONG_PASSPHRASE').catch((e) => {
        throw new Error(`${name}: ${e.message}`);
      });
    }
    assert.deepEqual((await decodeKeyFile(json, { passphrase: 'pw' })).secretKey, sk);
  });

  it('the public key and address are bound to the ciphertext', async () => {
    const json = await encodeKeyFile(generateKeyPair().secretKey, { ...FAST, passphrase: 'pw' });
    const other = generateKeyPair();
    // Swapping in another key's public half (consistently) must not decrypt.
    const swapped = clone(json);
    swapped.publicKey = toHex(other.publicKey);
    swapped.address = toHex(addressOf(other.publicKey));
    await rejectsWith(decodeKeyFile(swapped, { passphrase: 'pw' }), 'WRONG_PASSPHRASE');
    // Changing only one of them is caught before decryption.
    const onlyKey = clone(json);
    onlyKey.publicKey = toHex(other.publicKey);
    await rejectsWith(decodeKeyFile(onlyKey, { passphrase: 'pw' }), 'KEY_MISMATCH', 'address');
  });

  it('the label is not bound: editing it keeps the key readable', async () => {
    const sk = generateKeyPair().secretKey;
    const json = await encodeKeyFile(sk, { ...FAST, passphrase: 'pw', label: 'old' });
    const edited = { ...clone(json), label: 'new' };
    const keys = await decodeKeyFile(edited, { passphrase: 'pw' });
    assert.deepEqual(keys.secretKey, sk);
    assert.equal(keys.label, 'new');
  });

  it('a tampered file on disk is refused with the typed error', async () => {
    const path = join(dir, 'tampered.json');
    await writeKeyFile(path, generateKeyPair().secretKey, { ...FAST, passphrase: 'pw' });
    const json = JSON.parse(await readFile(path, 'utf8')) as KeyFileJson;
    json.crypto!.ciphertext = flipHex(json.crypto!.ciphertext, 20);
    await writeFile(path, JSON.stringify(json));
    await rejectsWith(readKeyFile(path, { passphrase: 'pw' }), 'WRONG_PASSPHRASE');
  });
});

describe('key files: strict validation names the field', async () => {
  const kp = generateKeyPair();
  const other = generateKeyPair();
  const plain = await encodeKeyFile(kp.secretKey, { label: 'x' });
  const enc = await encodeKeyFile(kp.secretKey, { ...FAST, passphrase: 'pw' });

  it('the written objects validate', () => {
    assert.deepEqual(validateKeyFile(clone(plain)), plain);
    assert.deepEqual(validateKeyFile(clone(enc)), enc);
    assert.equal(decodePublicKeyFile(enc).encrypted, true);
  });

  type Edit = (
    j: Record<string, unknown> & {
      crypto?: Record<string, unknown> & { kdfparams?: Record<string, unknown> };
    },
  ) => void;
  const cases: [string, 'plain' | 'enc', Edit, KeyFileErrorCode, string][] = [
    ['missing version', 'plain', (j) => delete j.version, 'MISSING_FIELD', 'version'],
    ['version 2', 'plain', (j) => (j.version = 2), 'UNSUPPORTED', 'version'],
    ['version as a string', 'plain', (j) => (j.version = '1'), 'INVALID_FIELD', 'version'],
    ['other key type', 'plain', (j) => (j.type = 'secp256k1'), 'UNSUPPORTED', 'type'],
    ['missing type', 'plain', (j) => delete j.type, 'MISSING_FIELD', 'type'],
    ['unknown field', 'plain', (j) => (j.comment = 'hi'), 'UNKNOWN_FIELD', 'comment'],
    [
      'a field named toString',
      'plain',
      (j) => Object.assign(j, { toString: 'x' }),
      'UNKNOWN_FIELD',
      'toString',
    ],
    ['label not a string', 'plain', (j) => (j.label = 5), 'INVALID_FIELD', 'label'],
    ['label too long', 'plain', (j) => (j.label = 'x'.repeat(257)), 'INVALID_FIELD', 'label'],
    ['missing address', 'plain', (j) => delete j.address, 'MISSING_FIELD', 'address'],
    [
      'address without 0x',
      'plain',
      (j) => (j.address = (j.address as string).slice(2)),
      'INVALID_FIELD',
      'address',
    ],
    [
      'address too short',
      'plain',
      (j) => (j.address = (j.address as string).slice(0, -2)),
      'INVALID_FIELD',
      'address',
    ],
    [
      'address of another key',
      'plain',
      (j) => (j.address = toHex(addressOf(other.publicKey))),
      'KEY_MISMATCH',
      'address',
    ],
    ['missing publicKey', 'plain', (j) => delete j.publicKey, 'MISSING_FIELD', 'publicKey'],
    [
      'publicKey odd length',
      'plain',
      (j) => (j.publicKey = (j.publicKey as string).slice(0, -1)),
      'INVALID_FIELD',
      'publicKey',
    ],
    ['publicKey a number', 'plain', (j) => (j.publicKey = 12), 'INVALID_FIELD', 'publicKey'],
    [
      'publicKey not hex',
      'plain',
      (j) => (j.publicKey = `0x${'zz'.repeat(32)}`),
      'INVALID_FIELD',
      'publicKey',
    ],
    ['secretKey too long', 'plain', (j) => (j.secretKey = `${j.secretKey}00`), 'INVALID_FIELD', 'secretKey'],
    ['secretKey null', 'plain', (j) => (j.secretKey = null), 'INVALID_FIELD', 'secretKey'],
    [
      'secretKey of another key',
      'plain',
      (j) => {
        j.secretKey = toHex(other.secretKey);
      },
      'KEY_MISMATCH',
      'publicKey',
    ],
    ['neither secretKey nor crypto', 'plain', (j) => delete j.secretKey, 'MISSING_FIELD', 'secretKey'],
    [
      'both secretKey and crypto',
      'enc',
      (j) => (j.secretKey = toHex(kp.secretKey)),
      'INVALID_FIELD',
      'secretKey',
    ],
    ['crypto not an object', 'enc', (j) => Object.assign(j, { crypto: 'x' }), 'INVALID_FIELD', 'crypto'],
    ['crypto a list', 'enc', (j) => Object.assign(j, { crypto: [] }), 'INVALID_FIELD', 'crypto'],
    ['other kdf', 'enc', (j) => (j.crypto!.kdf = 'pbkdf2'), 'UNSUPPORTED', 'crypto.kdf'],
    ['other cipher', 'enc', (j) => (j.crypto!.cipher = 'aes-128-ctr'), 'UNSUPPORTED', 'crypto.cipher'],
    ['unknown crypto field', 'enc', (j) => (j.crypto!.mac = '0x00'), 'UNKNOWN_FIELD', 'crypto.mac'],
    ['missing kdfparams', 'enc', (j) => delete j.crypto!.kdfparams, 'MISSING_FIELD', 'crypto.kdfparams'],
    [
      'N not a power of two',
      'enc',
      (j) => (j.crypto!.kdfparams!.N = 1000),
      'INVALID_FIELD',
      'crypto.kdfparams.N',
    ],
    ['N above 2^20', 'enc', (j) => (j.crypto!.kdfparams!.N = 2 ** 21), 'INVALID_FIELD', 'crypto.kdfparams.N'],
    [
      'N of 1 GiB memory',
      'enc',
      (j) => (j.crypto!.kdfparams!.N = 2 ** 20),
      'INVALID_FIELD',
      'crypto.kdfparams.N',
    ],
    ['N a string', 'enc', (j) => (j.crypto!.kdfparams!.N = '1024'), 'INVALID_FIELD', 'crypto.kdfparams.N'],
    ['N fractional', 'enc', (j) => (j.crypto!.kdfparams!.N = 1024.5), 'INVALID_FIELD', 'crypto.kdfparams.N'],
    ['r zero', 'enc', (j) => (j.crypto!.kdfparams!.r = 0), 'INVALID_FIELD', 'crypto.kdfparams.r'],
    ['r too large', 'enc', (j) => (j.crypto!.kdfparams!.r = 33), 'INVALID_FIELD', 'crypto.kdfparams.r'],
    ['p zero', 'enc', (j) => (j.crypto!.kdfparams!.p = 0), 'INVALID_FIELD', 'crypto.kdfparams.p'],
    [
      'missing salt',
      'enc',
      (j) => delete j.crypto!.kdfparams!.salt,
      'MISSING_FIELD',
      'crypto.kdfparams.salt',
    ],
    [
      'salt too short',
      'enc',
      (j) => (j.crypto!.kdfparams!.salt = '0x0102'),
      'INVALID_FIELD',
      'crypto.kdfparams.salt',
    ],
    [
      'salt not hex',
      'enc',
      (j) => (j.crypto!.kdfparams!.salt = 'salt'),
      'INVALID_FIELD',
      'crypto.kdfparams.salt',
    ],
    [
      'unknown kdfparams field',
      'enc',
      (j) => (j.crypto!.kdfparams!.dklen = 32),
      'UNKNOWN_FIELD',
      'crypto.kdfparams.dklen',
    ],
    ['iv of 16 bytes', 'enc', (j) => (j.crypto!.iv = `0x${'00'.repeat(16)}`), 'INVALID_FIELD', 'crypto.iv'],
    [
      'tag of 12 bytes',
      'enc',
      (j) => (j.crypto!.tag = `0x${'00'.repeat(12)}`),
      'INVALID_FIELD',
      'crypto.tag',
    ],
    [
      'ciphertext of 31 bytes',
      'enc',
      (j) => (j.crypto!.ciphertext = `0x${'00'.repeat(31)}`),
      'INVALID_FIELD',
      'crypto.ciphertext',
    ],
    ['missing tag', 'enc', (j) => delete j.crypto!.tag, 'MISSING_FIELD', 'crypto.tag'],
  ];
  for (const [name, base, edit, code, field] of cases) {
    it(name, async () => {
      const j = clone(base === 'plain' ? plain : enc) as unknown as Parameters<Edit>[0];
      edit(j);
      await rejectsWith(() => validateKeyFile(j), code, field);
      await rejectsWith(() => decodePublicKeyFile(j), code, field);
      await rejectsWith(decodeKeyFile(j, { passphrase: 'pw' }), code, field);
    });
  }

  it('a "__proto__" field from JSON is an unknown field, not a prototype', async () => {
    const j = JSON.parse(`{"__proto__": {"version": 1}, ${JSON.stringify(plain).slice(1)}`);
    await rejectsWith(() => validateKeyFile(j), 'UNKNOWN_FIELD', '__proto__');
  });

  it('values that are not objects', async () => {
    for (const v of [null, [], 'key', 1, true]) await rejectsWith(() => validateKeyFile(v), 'INVALID_FIELD');
  });

  it('a file names its path and the field', async () => {
    const path = join(dir, 'bad-field.json');
    const j = clone(plain) as unknown as Record<string, unknown>;
    j.publicKey = '0x00';
    await writeFile(path, JSON.stringify(j));
    await assert.rejects(readKeyFile(path), (e: unknown) => {
      assert.ok(e instanceof KeyFileError);
      assert.equal(e.code, 'INVALID_FIELD');
      assert.equal(e.field, 'publicKey');
      assert.ok(e.message.includes(path) && e.message.includes("'publicKey'"), e.message);
      return true;
    });
    await rejectsWith(readPublicKeyFile(path), 'INVALID_FIELD', 'publicKey');
  });
});

describe('key files: file and argument errors', () => {
  it('missing file, not JSON, a folder, an oversized file', async () => {
    await rejectsWith(readKeyFile(join(dir, 'absent.json')), 'NOT_FOUND');
    await rejectsWith(readPublicKeyFile(join(dir, 'absent.json')), 'NOT_FOUND');
    const notJson = join(dir, 'not.json');
    await writeFile(notJson, '{"version": 1,');
    await rejectsWith(readKeyFile(notJson), 'INVALID_JSON');
    await rejectsWith(readKeyFile(dir), 'IO');
    const huge = join(dir, 'huge.json');
    await writeFile(huge, ' '.repeat(100_000));
    await rejectsWith(readKeyFile(huge), 'TOO_LARGE');
  });

  it('bad arguments to the writer', async () => {
    const sk = generateKeyPair().secretKey;
    await rejectsWith(encodeKeyFile(sk.subarray(1)), 'INVALID_ARGUMENT');
    await rejectsWith(encodeKeyFile(new Uint8Array(64)), 'INVALID_ARGUMENT');
    await rejectsWith(encodeKeyFile(sk, { passphrase: '' }), 'INVALID_ARGUMENT');
    await rejectsWith(encodeKeyFile(sk, { passphrase: 'x', scryptN: 1000 }), 'INVALID_ARGUMENT');
    await rejectsWith(encodeKeyFile(sk, { passphrase: 'x', scryptN: 2 ** 21 }), 'INVALID_ARGUMENT');
    await rejectsWith(encodeKeyFile(sk, { label: 'x'.repeat(300) }), 'INVALID_ARGUMENT');
    await rejectsWith(writeKeyFile(join(dir, 'never.json'), sk.subarray(2)), 'INVALID_ARGUMENT');
    await assert.rejects(stat(join(dir, 'never.json')), { code: 'ENOENT' });
  });

  it('the RFC 8032 TEST 1 key round-trips to its known public key', async () => {
    const sk = new Uint8Array(
      Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex'),
    );
    const json = await encodeKeyFile(sk, { ...FAST, passphrase: 'pw' });
    assert.equal(json.publicKey, '0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    const keys = await decodeKeyFile(json, { passphrase: 'pw' });
    assert.deepEqual(keys.publicKey, publicKeyFromSecret(sk));
  });
});
