/**
 * Key files: one Ed25519 key as JSON, plain or encrypted with a passphrase.
 *
 *   {
 *     "version": 1, "type": "ed25519", "label"?: "…",
 *     "address": "0x…20 bytes", "publicKey": "0x…32 bytes",
 *     "secretKey": "0x…32 bytes"                                  (plain), or
 *     "crypto": { "kdf": "scrypt", "kdfparams": { "N", "r", "p", "salt": "0x…" },
 *                 "cipher": "aes-256-gcm", "iv": "0x…12 bytes",
 *                 "ciphertext": "0x…32 bytes", "tag": "0x…16 bytes" }  (encrypted)
 *   }
 *
 * - The secret key is the 32-byte RFC 8032 seed. `publicKey` and `address` are stored in the
 *   clear so a node can learn its identity (validator address, peer id) without a passphrase.
 * - Encryption: key = scrypt(NFC(passphrase), salt, N, r, p) → 32 bytes, then AES-256-GCM over the
 *   seed. The associated data binds the format, address and public key, so a file whose public
 *   half was swapped for another key's fails to decrypt instead of pairing the wrong identity
 *   with the secret. The label is not bound: it is a note for people and may be edited.
 * - GCM cannot tell a wrong passphrase from altered ciphertext, iv, tag or public fields; both
 *   give `WRONG_PASSPHRASE`, and the message says so.
 * - Files are written with mode 0600 through a temporary file that is fsync'd and then
 *   renamed (or hard-linked when not overwriting), so a crash leaves either the old file or the
 *   new one, never half a key, and an existing key is never replaced unless asked.
 * - Reading is strict: unknown fields, wrong lengths, mismatched address/public key and
 *   out-of-range scrypt parameters are refused with a `KeyFileError` naming the field.
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { link, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  ADDRESS_LENGTH,
  addressOf,
  PUBLIC_KEY_LENGTH,
  publicKeyFromSecret,
  SECRET_KEY_LENGTH,
} from '../crypto/ed25519.js';
import { bytesEqual, fromHex, toHex } from '../crypto/hash.js';

export const KEY_FILE_VERSION = 1;
/** scrypt cost for new files: 2^15 with r = 8 takes ~0.1 s and 32 MiB, as the Ethereum keystore. */
export const SCRYPT_N_DEFAULT = 2 ** 15;
const SCRYPT_R = 8;
const SCRYPT_P = 1;
/** Upper bounds on parameters read from a file, so a hostile file cannot demand GiBs or hours. */
const SCRYPT_N_MAX = 2 ** 20;
const SCRYPT_R_MAX = 32;
const SCRYPT_P_MAX = 16;
const SCRYPT_MEMORY_MAX = 256 * 1024 * 1024;
const SALT_LENGTH = 32;
const SALT_LENGTH_MIN = 16;
const SALT_LENGTH_MAX = 64;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;
const LABEL_LENGTH_MAX = 256;
/** A key file is well under 1 KiB; anything far larger is not one. */
const FILE_SIZE_MAX = 64 * 1024;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
const AAD_PREFIX = new TextEncoder().encode('synod/keyfile/v1/ed25519');

export type KeyFileErrorCode =
  /** No file at the path. */
  | 'NOT_FOUND'
  /** Any other file-system failure (permissions, not a regular file, disk full). */
  | 'IO'
  /** `writeKeyFile` would replace an existing file and `overwrite` was not set. */
  | 'EXISTS'
  /** The file is far larger than any key file. */
  | 'TOO_LARGE'
  /** The text is not JSON. */
  | 'INVALID_JSON'
  /** A field has the wrong type, encoding, length or range; `field` names it. */
  | 'INVALID_FIELD'
  /** A required field is absent; `field` names it. */
  | 'MISSING_FIELD'
  /** A field this format does not define; `field` names it. */
  | 'UNKNOWN_FIELD'
  /** A version, key type, kdf or cipher this code does not know; `field` names it. */
  | 'UNSUPPORTED'
  /** The address or public key does not belong to the secret key; `field` names it. */
  | 'KEY_MISMATCH'
  /** The file is encrypted and no passphrase was given. */
  | 'PASSPHRASE_REQUIRED'
  /** Decryption failed: a wrong passphrase, or the encrypted part or the bound fields were altered. */
  | 'WRONG_PASSPHRASE'
  /** A bad argument from the caller (secret key length, empty passphrase, scrypt cost). */
  | 'INVALID_ARGUMENT';

export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  constructor(
    readonly code: KeyFileErrorCode,
    message: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ScryptParamsJson {
  N: number;
  r: number;
  p: number;
  salt: string;
}

export interface KeyFileCryptoJson {
  kdf: 'scrypt';
  kdfparams: ScryptParamsJson;
  cipher: 'aes-256-gcm';
  iv: string;
  ciphertext: string;
  tag: string;
}

/** The JSON object of a key file, as written and as `validateKeyFile` accepts it. */
export interface KeyFileJson {
  version: 1;
  type: 'ed25519';
  label?: string;
  address: string;
  publicKey: string;
  secretKey?: string;
  crypto?: KeyFileCryptoJson;
}

export interface KeyFileOptions {
  /** Encrypt the secret key under this passphrase (normalised to Unicode NFC). */
  passphrase?: string;
  /** A note for people, stored in the clear. */
  label?: string;
  /** scrypt N, a power of two; defaults to 2^15. Tests pass a lower one to stay fast. */
  scryptN?: number;
}

export interface WriteKeyFileOptions extends KeyFileOptions {
  /** Replace an existing file at the path (default false: refuse with `EXISTS`). */
  overwrite?: boolean;
}

export interface ReadKeyFileOptions {
  passphrase?: string;
}

/** A key read back from a file. */
export interface KeyFileKeys {
  secretKey: Uint8Array;
  publicKey: Uint8Array;
  address: Uint8Array;
  label?: string;
}

/** The public half of a key file, readable without the passphrase. */
export interface KeyFilePublic {
  publicKey: Uint8Array;
  address: Uint8Array;
  label?: string;
  encrypted: boolean;
}

// ---- validation ---------------------------------------------------------------------------

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function fieldError(code: KeyFileErrorCode, field: string, detail: string): KeyFileError {
  return new KeyFileError(code, `key file field '${field}': ${detail}`, field);
}

function only(obj: JsonObject, allowed: readonly string[], prefix: string): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k))
      throw fieldError('UNKNOWN_FIELD', prefix + k, 'not part of the key file format');
  }
}

function need(obj: JsonObject, key: string, prefix: string): unknown {
  // Own properties only: a field named like an Object.prototype member must not resolve to it.
  if (!Object.hasOwn(obj, key) || obj[key] === undefined) {
    throw fieldError('MISSING_FIELD', prefix + key, 'required');
  }
  return obj[key];
}

function hexField(obj: JsonObject, key: string, prefix: string, length: number): Uint8Array {
  const v = need(obj, key, prefix);
  if (typeof v !== 'string') throw fieldError('INVALID_FIELD', prefix + key, 'expected a 0x-hex string');
  try {
    return fromHex(v, length, prefix + key);
  } catch {
    throw fieldError('INVALID_FIELD', prefix + key, `expected ${length} bytes as 0x-prefixed hex`);
  }
}

function intField(obj: JsonObject, key: string, prefix: string, min: number, max: number): number {
  const v = need(obj, key, prefix);
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
    throw fieldError('INVALID_FIELD', prefix + key, `expected an integer in ${min}..${max}`);
  }
  return v;
}

function constField<T extends string | number>(obj: JsonObject, key: string, prefix: string, want: T): T {
  const v = need(obj, key, prefix);
  if (typeof v !== typeof want)
    throw fieldError('INVALID_FIELD', prefix + key, `expected ${JSON.stringify(want)}`);
  if (v !== want) throw fieldError('UNSUPPORTED', prefix + key, `${JSON.stringify(v)} is not supported`);
  return want;
}

interface ScryptParams {
  N: number;
  r: number;
  p: number;
  salt: Uint8Array;
}

interface ParsedCrypto {
  kdf: ScryptParams;
  iv: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

interface ParsedKeyFile {
  json: KeyFileJson;
  address: Uint8Array;
  publicKey: Uint8Array;
  label?: string;
  secretKey?: Uint8Array;
  crypto?: ParsedCrypto;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 2 && (n & (n - 1)) === 0;
}

function checkScryptCost(N: number, r: number, p: number, field: (k: string) => KeyFileError): void {
  if (!isPowerOfTwo(N) || N > SCRYPT_N_MAX) throw field('N');
  if (r < 1 || r > SCRYPT_R_MAX) throw field('r');
  if (p < 1 || p > SCRYPT_P_MAX) throw field('p');
  if (128 * N * r > SCRYPT_MEMORY_MAX) throw field('N');
}

function parseCrypto(v: unknown): ParsedCrypto {
  const pre = 'crypto.';
  if (!isObject(v)) throw fieldError('INVALID_FIELD', 'crypto', 'expected an object');
  only(v, ['kdf', 'kdfparams', 'cipher', 'iv', 'ciphertext', 'tag'], pre);
  constField(v, 'kdf', pre, 'scrypt');
  constField(v, 'cipher', pre, 'aes-256-gcm');
  const kp = need(v, 'kdfparams', pre);
  const kpre = 'crypto.kdfparams.';
  if (!isObject(kp)) throw fieldError('INVALID_FIELD', 'crypto.kdfparams', 'expected an object');
  only(kp, ['N', 'r', 'p', 'salt'], kpre);
  const N = intField(kp, 'N', kpre, 2, SCRYPT_N_MAX);
  const r = intField(kp, 'r', kpre, 1, SCRYPT_R_MAX);
  const p = intField(kp, 'p', kpre, 1, SCRYPT_P_MAX);
  checkScryptCost(N, r, p, (k) =>
    fieldError(
      'INVALID_FIELD',
      kpre + k,
      `scrypt parameters out of range (N a power of two ≤ 2^20, 128·N·r ≤ 256 MiB)`,
    ),
  );
  const saltRaw = need(kp, 'salt', kpre);
  let salt: Uint8Array;
  try {
    if (typeof saltRaw !== 'string') throw new Error('not a string');
    salt = fromHex(saltRaw);
  } catch {
    throw fieldError('INVALID_FIELD', kpre + 'salt', 'expected 0x-prefixed hex');
  }
  if (salt.length < SALT_LENGTH_MIN || salt.length > SALT_LENGTH_MAX) {
    throw fieldError('INVALID_FIELD', kpre + 'salt', `expected ${SALT_LENGTH_MIN}..${SALT_LENGTH_MAX} bytes`);
  }
  return {
    kdf: { N, r, p, salt },
    iv: hexField(v, 'iv', pre, IV_LENGTH),
    ciphertext: hexField(v, 'ciphertext', pre, SECRET_KEY_LENGTH),
    tag: hexField(v, 'tag', pre, TAG_LENGTH),
  };
}

function parse(value: unknown): ParsedKeyFile {
  if (!isObject(value)) throw new KeyFileError('INVALID_FIELD', 'key file: expected a JSON object', '');
  only(value, ['version', 'type', 'label', 'address', 'publicKey', 'secretKey', 'crypto'], '');
  constField(value, 'version', '', KEY_FILE_VERSION);
  constField(value, 'type', '', 'ed25519');
  let label: string | undefined;
  if (Object.hasOwn(value, 'label')) {
    const l = value.label;
    if (typeof l !== 'string' || l.length > LABEL_LENGTH_MAX) {
      throw fieldError(
        'INVALID_FIELD',
        'label',
        `expected a string of at most ${LABEL_LENGTH_MAX} characters`,
      );
    }
    label = l;
  }
  const address = hexField(value, 'address', '', ADDRESS_LENGTH);
  const publicKey = hexField(value, 'publicKey', '', PUBLIC_KEY_LENGTH);
  if (!bytesEqual(addressOf(publicKey), address)) {
    throw fieldError('KEY_MISMATCH', 'address', 'is not the address of publicKey');
  }
  const hasSecret = Object.hasOwn(value, 'secretKey');
  const hasCrypto = Object.hasOwn(value, 'crypto');
  if (hasSecret && hasCrypto) {
    throw fieldError(
      'INVALID_FIELD',
      'secretKey',
      "present together with 'crypto'; a file is plain or encrypted",
    );
  }
  if (!hasSecret && !hasCrypto)
    throw fieldError('MISSING_FIELD', 'secretKey', "required when 'crypto' is absent");
  const parsed: ParsedKeyFile = { json: value as unknown as KeyFileJson, address, publicKey };
  if (label !== undefined) parsed.label = label;
  if (hasSecret) {
    const secretKey = hexField(value, 'secretKey', '', SECRET_KEY_LENGTH);
    if (!bytesEqual(publicKeyFromSecret(secretKey), publicKey)) {
      throw fieldError('KEY_MISMATCH', 'publicKey', 'is not the public key of secretKey');
    }
    parsed.secretKey = secretKey;
  } else {
    parsed.crypto = parseCrypto(value.crypto);
  }
  return parsed;
}

/**
 * Checks a parsed JSON value against the key file format without decrypting anything, and
 * returns it typed. Throws KeyFileError naming the offending field.
 */
export function validateKeyFile(value: unknown): KeyFileJson {
  return parse(value).json;
}

// ---- encryption ---------------------------------------------------------------------------

function associatedData(address: Uint8Array, publicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(AAD_PREFIX.length + ADDRESS_LENGTH + PUBLIC_KEY_LENGTH);
  out.set(AAD_PREFIX, 0);
  out.set(address, AAD_PREFIX.length);
  out.set(publicKey, AAD_PREFIX.length + ADDRESS_LENGTH);
  return out;
}

function deriveKey(passphrase: string, p: ScryptParams): Promise<Buffer> {
  const password = Buffer.from(passphrase.normalize('NFC'), 'utf8');
  return new Promise((resolve, reject) => {
    // Asynchronous: at N = 2^15 scrypt takes ~0.1 s, which must not stall the event loop.
    scrypt(
      password,
      p.salt,
      32,
      { N: p.N, r: p.r, p: p.p, maxmem: 2 * 128 * p.N * p.r + 1024 * 1024 },
      (err, key) => {
        password.fill(0);
        if (err) reject(err);
        else resolve(key);
      },
    );
  });
}

function checkSecretKey(secretKey: Uint8Array): void {
  if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_LENGTH) {
    throw new KeyFileError('INVALID_ARGUMENT', `secret key must be ${SECRET_KEY_LENGTH} bytes`);
  }
}

/** Builds the JSON object of a key file for `secretKey` (encrypting it when a passphrase is given). */
export async function encodeKeyFile(
  secretKey: Uint8Array,
  options: KeyFileOptions = {},
): Promise<KeyFileJson> {
  checkSecretKey(secretKey);
  const { passphrase, label } = options;
  if (label !== undefined && (typeof label !== 'string' || label.length > LABEL_LENGTH_MAX)) {
    throw new KeyFileError(
      'INVALID_ARGUMENT',
      `label must be a string of at most ${LABEL_LENGTH_MAX} characters`,
    );
  }
  const publicKey = publicKeyFromSecret(secretKey);
  const address = addressOf(publicKey);
  // Built in this order so the written file reads top-down: format, label, identity, secret.
  const json: KeyFileJson = {
    version: KEY_FILE_VERSION,
    type: 'ed25519',
    ...(label !== undefined ? { label } : {}),
    address: toHex(address),
    publicKey: toHex(publicKey),
  };
  if (passphrase === undefined) {
    json.secretKey = toHex(secretKey);
    return json;
  }
  if (typeof passphrase !== 'string' || passphrase.length === 0) {
    throw new KeyFileError('INVALID_ARGUMENT', 'passphrase must be a non-empty string');
  }
  const N = options.scryptN ?? SCRYPT_N_DEFAULT;
  checkScryptCost(
    N,
    SCRYPT_R,
    SCRYPT_P,
    () =>
      new KeyFileError(
        'INVALID_ARGUMENT',
        `scryptN must be a power of two from 2 to 2^${Math.log2(SCRYPT_MEMORY_MAX / (128 * SCRYPT_R))}`,
      ),
  );
  const kdf: ScryptParams = { N, r: SCRYPT_R, p: SCRYPT_P, salt: new Uint8Array(randomBytes(SALT_LENGTH)) };
  const iv = new Uint8Array(randomBytes(IV_LENGTH));
  const key = await deriveKey(passphrase, kdf);
  try {
    const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_LENGTH });
    cipher.setAAD(associatedData(address, publicKey));
    const ciphertext = Buffer.concat([cipher.update(secretKey), cipher.final()]);
    json.crypto = {
      kdf: 'scrypt',
      kdfparams: { N: kdf.N, r: kdf.r, p: kdf.p, salt: toHex(kdf.salt) },
      cipher: 'aes-256-gcm',
      iv: toHex(iv),
      ciphertext: toHex(ciphertext),
      tag: toHex(cipher.getAuthTag()),
    };
  } finally {
    key.fill(0);
  }
  return json;
}

/**
 * Validates a key file's JSON object and returns its key, decrypting with `passphrase` when
 * the file is encrypted. Throws KeyFileError (`PASSPHRASE_REQUIRED`, `WRONG_PASSPHRASE`, or a
 * field error).
 */
export async function decodeKeyFile(value: unknown, options: ReadKeyFileOptions = {}): Promise<KeyFileKeys> {
  const f = parse(value);
  const out = (secretKey: Uint8Array): KeyFileKeys => {
    const keys: KeyFileKeys = { secretKey, publicKey: f.publicKey, address: f.address };
    if (f.label !== undefined) keys.label = f.label;
    return keys;
  };
  if (f.secretKey) return out(f.secretKey);
  const c = f.crypto!;
  const { passphrase } = options;
  if (passphrase === undefined) {
    throw new KeyFileError('PASSPHRASE_REQUIRED', 'key file is encrypted: a passphrase is required');
  }
  if (typeof passphrase !== 'string')
    throw new KeyFileError('INVALID_ARGUMENT', 'passphrase must be a string');
  const key = await deriveKey(passphrase, c.kdf);
  let secretKey: Uint8Array;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, c.iv, { authTagLength: TAG_LENGTH });
    decipher.setAuthTag(c.tag);
    decipher.setAAD(associatedData(f.address, f.publicKey));
    secretKey = new Uint8Array(Buffer.concat([decipher.update(c.ciphertext), decipher.final()]));
  } catch (cause) {
    throw new KeyFileError(
      'WRONG_PASSPHRASE',
      'cannot decrypt key file: wrong passphrase, or the file was altered',
      undefined,
      { cause },
    );
  } finally {
    key.fill(0);
  }
  // The AAD already binds the public key; this guards against a file written by a faulty tool.
  if (!bytesEqual(publicKeyFromSecret(secretKey), f.publicKey)) {
    throw fieldError('KEY_MISMATCH', 'publicKey', 'is not the public key of the decrypted secret key');
  }
  return out(secretKey);
}

/** The public half of a key file's JSON object; needs no passphrase. */
export function decodePublicKeyFile(value: unknown): KeyFilePublic {
  const f = parse(value);
  const pub: KeyFilePublic = {
    publicKey: f.publicKey,
    address: f.address,
    encrypted: f.crypto !== undefined,
  };
  if (f.label !== undefined) pub.label = f.label;
  return pub;
}

// ---- files --------------------------------------------------------------------------------

function ioError(path: string, err: unknown): KeyFileError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT')
    return new KeyFileError('NOT_FOUND', `no key file at ${path}`, undefined, { cause: err });
  if (code === 'EEXIST') {
    return new KeyFileError('EXISTS', `${path} exists; refusing to replace a key file`, undefined, {
      cause: err,
    });
  }
  const detail = err instanceof Error ? err.message : String(err);
  return new KeyFileError('IO', `key file ${path}: ${detail}`, undefined, { cause: err });
}

/** Prefixes the path to a KeyFileError's message, keeping code and field. */
function withPath(path: string, err: unknown): unknown {
  if (err instanceof KeyFileError && !err.message.startsWith(path)) {
    return new KeyFileError(err.code, `${path}: ${err.message}`, err.field, { cause: err.cause });
  }
  return err;
}

async function syncDirectory(dir: string): Promise<void> {
  // Makes the rename durable. Some platforms cannot open a directory for fsync; the rename
  // is still atomic there, only its durability across power loss is weaker.
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // best effort, see above
  }
}

async function writeFileAtomic(path: string, text: string, overwrite: boolean): Promise<void> {
  const dir = dirname(path);
  try {
    await mkdir(dir, { recursive: true, mode: DIR_MODE });
  } catch (err) {
    // Reported as IO whatever the errno: EEXIST here means a file where a folder should be.
    throw new KeyFileError('IO', `cannot create folder ${dir}: ${(err as Error).message}`, undefined, {
      cause: err,
    });
  }
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse something already at the temporary name.
  const fh = await open(tmp, 'wx', FILE_MODE);
  let placed = false;
  try {
    try {
      // The open mode is filtered by the umask, which can only remove bits; chmod makes the
      // result exactly 0600 whatever the umask or inherited defaults.
      await fh.chmod(FILE_MODE);
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    if (overwrite) {
      await rename(tmp, path);
    } else {
      try {
        // link() fails with EEXIST atomically, where "check, then rename" would race.
        await link(tmp, path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
        // A file system without hard links: fall back to a check that can race.
        const exists = await lstat(path).then(
          () => true,
          () => false,
        );
        if (exists) throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
        await rename(tmp, path);
      }
    }
    placed = true;
  } finally {
    await unlink(tmp).catch(() => {
      // after a rename the temporary name is gone; after a link it is removed here
    });
  }
  if (placed) await syncDirectory(dir);
}

/**
 * Writes a key file for `secretKey` at `path` (mode 0600, parent folders created 0700),
 * encrypted when `passphrase` is given. Refuses to replace an existing file unless
 * `overwrite` is set. Returns the public half.
 */
export async function writeKeyFile(
  path: string,
  secretKey: Uint8Array,
  options: WriteKeyFileOptions = {},
): Promise<KeyFilePublic> {
  const json = await encodeKeyFile(secretKey, options);
  try {
    await writeFileAtomic(path, `${JSON.stringify(json, null, 2)}\n`, options.overwrite === true);
  } catch (err) {
    throw err instanceof KeyFileError ? err : ioError(path, err);
  }
  return decodePublicKeyFile(json);
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    // One handle for the checks and the read, so they see the same file.
    const fh = await open(path, 'r');
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new Error('not a regular file');
      if (st.size > FILE_SIZE_MAX) {
        throw new KeyFileError('TOO_LARGE', `${path}: ${st.size} bytes is too large for a key file`);
      }
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    throw ioError(path, err);
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new KeyFileError('INVALID_JSON', `${path}: not valid JSON`, undefined, { cause });
  }
}

/** Reads and validates a key file, decrypting it with `passphrase` when it is encrypted. */
export async function readKeyFile(path: string, options: ReadKeyFileOptions = {}): Promise<KeyFileKeys> {
  const json = await readJson(path);
  try {
    return await decodeKeyFile(json, options);
  } catch (err) {
    throw withPath(path, err);
  }
}

/** Reads the public key and address of a key file; no passphrase needed. */
export async function readPublicKeyFile(path: string): Promise<KeyFilePublic> {
  const json = await readJson(path);
  try {
    return decodePublicKeyFile(json);
  } catch (err) {
    throw withPath(path, err);
  }
}
