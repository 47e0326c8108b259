/**
 * The genesis file: its JSON form, strict validation, and the genesis hash.
 *
 * File form (every field required unless marked; unknown fields are refused everywhere):
 *
 * ```json
 * {
 *   "chainId": "synod-devnet",                       // /^[a-z0-9][a-z0-9-]{0,63}$/
 *   "genesisTime": "2026-01-01T00:00:00.000Z",        // ISO-8601 with offset, ms precision at most
 *   "params": { "blockPeriodMs": 200, ... },          // optional, and so is each parameter
 *   "members": [{ "id": "member-0", "name": "Member 0" }],
 *   "accounts": [{ "publicKey": "0x…64 hex", "member": "member-0", "roles": ["admin"], "balance": "1000" }],
 *   "validators": [{ "publicKey": "0x…64 hex", "member": "member-0", "p2p": ["/ip4/127.0.0.1/tcp/26700"] }]
 * }
 * ```
 *
 * Balances are decimal strings because JSON numbers lose precision above 2^53. Missing
 * parameters take DEFAULT_PARAMS; `genesisToJson` always writes all of them, so a file written
 * by a newer node with other defaults still means the same chain.
 *
 * Every problem is reported with the path of the field it concerns
 * (`validators[2].publicKey: expected 0x + 64 hex`), all of them at once, so an operator fixes a
 * hand-edited file in one pass.
 */
import { readFile, stat } from 'node:fs/promises';
import { ed25519 } from '@noble/curves/ed25519.js';
import { z } from 'zod';
import { type Hash, toHex } from '../crypto/hash.js';
import { LEDGER_LIMITS } from '../ledger/checks.js';
import { blockHash } from '../ledger/codec.js';
import type { GenesisAccount, GenesisDoc, GenesisMember, GenesisValidator } from '../ledger/genesis-doc.js';
import { genesisState } from '../ledger/genesis-state.js';
import {
  type ChainParams,
  DEFAULT_PARAMS,
  PARAM_BOUNDS,
  PARAM_NAMES,
  paramProblems,
} from '../ledger/params.js';
import { ROLES } from '../ledger/state.js';

// ---- limits ------------------------------------------------------------------------------

/**
 * Upper bounds on a genesis file, so a hostile or mistaken file cannot make every node build
 * an enormous initial state. The ledger's own limits apply to members, validators and their
 * fields (a genesis must not hold what a governance vote could never add).
 */
export const GENESIS_LIMITS = Object.freeze({
  membersMax: LEDGER_LIMITS.membersMax,
  accountsMax: 100_000,
  validatorsMax: LEDGER_LIMITS.validatorsMax,
  p2pPerValidatorMax: LEDGER_LIMITS.p2pAddrsMax,
  multiaddrBytesMax: LEDGER_LIMITS.p2pAddrBytesMax,
  memberNameBytesMax: LEDGER_LIMITS.memberNameBytesMax,
  /** 100,000 accounts take about 25 MB of JSON. */
  fileBytesMax: 64 * 1024 * 1024,
});

export const UINT256_MAX = (1n << 256n) - 1n;
export const CHAIN_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const MEMBER_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
/** The role that makes an account an admin of its member (register keys, propose, vote). */
export const ADMIN_ROLE = 'admin' satisfies (typeof ROLES)[number];

// ---- errors ------------------------------------------------------------------------------

export type GenesisErrorCode = 'GENESIS_INVALID' | 'GENESIS_UNREADABLE';

/** A genesis file that cannot be read or is not valid. `problems` name one field each. */
export class GenesisError extends Error {
  override readonly name = 'GenesisError';
  constructor(
    readonly code: GenesisErrorCode,
    readonly problems: readonly string[],
    readonly file?: string,
  ) {
    const where = file === undefined ? 'genesis' : file;
    const what = code === 'GENESIS_UNREADABLE' ? 'cannot read the genesis file' : 'invalid genesis file';
    super(`${where}: ${what}:\n  ${problems.join('\n  ')}`);
  }
}

// ---- the JSON shape ----------------------------------------------------------------------

const publicKeyHex = z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'expected 0x + 64 hex');
const memberId = z.string().regex(MEMBER_ID_PATTERN, `expected a member id matching ${MEMBER_ID_PATTERN}`);
const decimal = z
  .string()
  .regex(/^(0|[1-9][0-9]*)$/, 'expected a non-negative decimal integer string without leading zeros')
  // 2^256-1 has 78 digits; the guard keeps BigInt away from strings the pattern refused.
  .refine((s) => !/^[0-9]+$/.test(s) || (s.length <= 78 && BigInt(s) <= UINT256_MAX), 'exceeds 2^256-1');
// A multiaddr in its textual form: /proto/value/… (checked for shape only; libp2p parses it).
const multiaddr = z
  .string()
  .max(GENESIS_LIMITS.multiaddrBytesMax, `expected at most ${GENESIS_LIMITS.multiaddrBytesMax} characters`)
  .regex(/^(\/[A-Za-z0-9._~:%+=-]+)+$/, 'expected a multiaddr such as /ip4/127.0.0.1/tcp/26700');

const paramsShape = z.strictObject(
  Object.fromEntries(
    PARAM_NAMES.map((name) => {
      const [lo, hi] = PARAM_BOUNDS[name];
      return [name, z.number().int(`expected an integer in ${lo}..${hi}`).optional()];
    }),
  ) as Record<keyof ChainParams, z.ZodOptional<z.ZodNumber>>,
);

const fileShape = z.strictObject({
  chainId: z.string().regex(CHAIN_ID_PATTERN, `expected a chain id matching ${CHAIN_ID_PATTERN}`),
  genesisTime: z.iso
    .datetime({ offset: true, message: 'expected an ISO-8601 time such as 2026-01-01T00:00:00Z' })
    // Block timestamps are whole milliseconds since 1970: finer or earlier times do not map.
    .refine((s) => !/\.\d{4,}/.test(s), 'expected at most millisecond precision')
    .refine((s) => !(Date.parse(s) < 0), 'expected a time after 1970-01-01T00:00:00Z'),
  params: paramsShape.optional(),
  members: z
    .array(
      z.strictObject({
        id: memberId,
        name: z
          .string()
          .min(1, 'expected a non-empty name')
          .refine(
            (n) => Buffer.byteLength(n, 'utf8') <= GENESIS_LIMITS.memberNameBytesMax,
            `expected at most ${GENESIS_LIMITS.memberNameBytesMax} bytes of UTF-8`,
          )
          // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
          .regex(/^[^\u0000-\u001f\u007f]*$/, 'expected no control characters'),
      }),
    )
    .min(1, 'at least one member is required')
    .max(GENESIS_LIMITS.membersMax, `at most ${GENESIS_LIMITS.membersMax} members`),
  accounts: z
    .array(
      z.strictObject({
        publicKey: publicKeyHex,
        member: memberId,
        roles: z.array(
          z
            .string()
            .refine((r) => (ROLES as readonly string[]).includes(r), `expected one of ${ROLES.join(', ')}`),
        ),
        balance: decimal,
      }),
    )
    .max(GENESIS_LIMITS.accountsMax, `at most ${GENESIS_LIMITS.accountsMax} accounts`),
  validators: z
    .array(
      z.strictObject({
        publicKey: publicKeyHex,
        member: memberId,
        p2p: z
          .array(multiaddr)
          .min(1, 'at least one p2p address is required')
          .max(GENESIS_LIMITS.p2pPerValidatorMax, `at most ${GENESIS_LIMITS.p2pPerValidatorMax} addresses`),
      }),
    )
    .min(1, 'at least one validator is required')
    .max(GENESIS_LIMITS.validatorsMax, `at most ${GENESIS_LIMITS.validatorsMax} validators`),
});

/** The genesis file as JSON (what `genesisToJson` writes and `parseGenesis` reads). */
export type GenesisFile = z.input<typeof fileShape>;

// ---- problem reporting -------------------------------------------------------------------

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out;
}

function at(path: readonly PropertyKey[], message: string): string {
  return path.length === 0 ? `(root): ${message}` : `${formatPath(path)}: ${message}`;
}

/** Whether the object holding the last path segment lacks that field (a missing field). */
function isMissing(input: unknown, path: readonly PropertyKey[]): boolean {
  let cur: unknown = input;
  for (let i = 0; i < path.length - 1; i++) {
    if (cur === null || typeof cur !== 'object') return false;
    cur = (cur as Record<PropertyKey, unknown>)[path[i]!];
  }
  const last = path[path.length - 1];
  return (
    last !== undefined &&
    cur !== null &&
    typeof cur === 'object' &&
    !Array.isArray(cur) &&
    !Object.hasOwn(cur, last)
  );
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): string[] {
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((k) => at([...issue.path, k], 'unknown field'));
    case 'invalid_type':
      if (isMissing(input, issue.path)) return [at(issue.path, 'required field is missing')];
      if (issue.expected === 'int') return [at(issue.path, issue.message)];
      return [at(issue.path, `expected ${issue.expected === 'object' ? 'an object' : issue.expected}`)];
    default:
      return [at(issue.path, issue.message)];
  }
}

// ---- parsing -----------------------------------------------------------------------------

function checkPublicKey(bytes: Uint8Array): string | undefined {
  try {
    // Small-order points give signatures that verify for many messages: never a valid key.
    if (ed25519.Point.fromBytes(bytes).isSmallOrder()) return 'a small-order point is not a valid public key';
  } catch {
    return 'not a valid Ed25519 public key';
  }
  return undefined;
}

function hexToBytes(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s.slice(2), 'hex'));
}

/** Cross-field rules that a per-field schema cannot state. */
function crossFieldProblems(f: z.output<typeof fileShape>): string[] {
  const out: string[] = [];
  const memberIndex = new Map<string, number>();
  f.members.forEach((m, i) => {
    const first = memberIndex.get(m.id);
    if (first !== undefined)
      out.push(`members[${i}].id: duplicate member id '${m.id}' (also members[${first}])`);
    else memberIndex.set(m.id, i);
  });

  // One key, one identity: a key that is both an account and a validator (or two accounts)
  // would make addresses ambiguous and lets a consensus key sign transactions.
  const keyIndex = new Map<string, string>();
  const checkKey = (hex: string, where: string) => {
    const lower = hex.toLowerCase();
    const first = keyIndex.get(lower);
    if (first !== undefined) out.push(`${where}.publicKey: duplicate public key (also ${first})`);
    else keyIndex.set(lower, where);
    const bad = checkPublicKey(hexToBytes(hex));
    if (bad !== undefined) out.push(`${where}.publicKey: ${bad}`);
  };

  const admins = new Set<string>();
  let supply = 0n;
  f.accounts.forEach((a, i) => {
    const where = `accounts[${i}]`;
    checkKey(a.publicKey, where);
    if (!memberIndex.has(a.member)) out.push(`${where}.member: unknown member '${a.member}'`);
    const seen = new Set<string>();
    a.roles.forEach((r, j) => {
      if (seen.has(r)) out.push(`${where}.roles[${j}]: duplicate role '${r}'`);
      seen.add(r);
    });
    if (a.roles.includes(ADMIN_ROLE)) admins.add(a.member);
    supply += BigInt(a.balance);
  });
  // No account can ever exceed the amount range if the whole supply fits in it.
  if (supply > UINT256_MAX) out.push('accounts: the sum of all balances exceeds 2^256-1');

  const addrIndex = new Map<string, string>();
  f.validators.forEach((v, i) => {
    const where = `validators[${i}]`;
    checkKey(v.publicKey, where);
    if (!memberIndex.has(v.member)) out.push(`${where}.member: unknown member '${v.member}'`);
    v.p2p.forEach((addr, j) => {
      const first = addrIndex.get(addr);
      if (first !== undefined) out.push(`${where}.p2p[${j}]: duplicate address '${addr}' (also ${first})`);
      else addrIndex.set(addr, `${where}.p2p[${j}]`);
    });
  });

  f.members.forEach((m, i) => {
    if (memberIndex.get(m.id) === i && !admins.has(m.id)) {
      out.push(`members[${i}]: member '${m.id}' has no account with role '${ADMIN_ROLE}'`);
    }
  });
  return out;
}

/**
 * Validates a genesis file (already parsed from JSON) and returns the document. Throws a
 * GenesisError listing every problem, each prefixed with the field path.
 */
export function parseGenesis(json: unknown, file?: string): GenesisDoc {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new GenesisError('GENESIS_INVALID', ['(root): expected a JSON object'], file);
  }
  const res = fileShape.safeParse(json);
  if (!res.success) {
    throw new GenesisError(
      'GENESIS_INVALID',
      res.error.issues.flatMap((iss) => describeIssue(iss, json)),
      file,
    );
  }
  const f = res.data;
  const params: ChainParams = { ...DEFAULT_PARAMS };
  for (const name of PARAM_NAMES) {
    const v = f.params?.[name];
    if (v !== undefined) params[name] = v;
  }
  const problems = [...crossFieldProblems(f), ...paramProblems(params)];
  if (problems.length > 0) throw new GenesisError('GENESIS_INVALID', problems, file);

  return {
    chainId: f.chainId,
    genesisTime: Date.parse(f.genesisTime),
    params,
    members: f.members.map((m): GenesisMember => ({ id: m.id, name: m.name })),
    accounts: f.accounts.map(
      (a): GenesisAccount => ({
        publicKey: hexToBytes(a.publicKey),
        memberId: a.member,
        roles: [...a.roles],
        balance: BigInt(a.balance),
      }),
    ),
    validators: f.validators.map(
      (v): GenesisValidator => ({ publicKey: hexToBytes(v.publicKey), memberId: v.member, p2p: [...v.p2p] }),
    ),
  };
}

/** Reads, parses and validates a genesis file. Throws GenesisError (the file's path included). */
export async function loadGenesisFile(path: string): Promise<GenesisDoc> {
  let text: string;
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > GENESIS_LIMITS.fileBytesMax) {
      throw new Error(
        `${st.size} bytes is above the ${GENESIS_LIMITS.fileBytesMax} bytes a genesis file may have`,
      );
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new GenesisError('GENESIS_UNREADABLE', [reason], path);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new GenesisError('GENESIS_UNREADABLE', [`not valid JSON: ${(err as Error).message}`], path);
  }
  return parseGenesis(json, path);
}

/** The file form of a document, with every parameter written out. */
export function genesisToFile(doc: GenesisDoc): GenesisFile {
  const params = {} as ChainParams;
  for (const name of PARAM_NAMES) params[name] = doc.params[name];
  return {
    chainId: doc.chainId,
    genesisTime: new Date(doc.genesisTime).toISOString(),
    params,
    members: doc.members.map((m) => ({ id: m.id, name: m.name })),
    accounts: doc.accounts.map((a) => ({
      publicKey: toHex(a.publicKey),
      member: a.memberId,
      roles: [...a.roles],
      balance: a.balance.toString(10),
    })),
    validators: doc.validators.map((v) => ({
      publicKey: toHex(v.publicKey),
      member: v.memberId,
      p2p: [...v.p2p],
    })),
  };
}

/** Stable, pretty JSON of a document: fixed key order, two-space indent, trailing newline. */
export function genesisToJson(doc: GenesisDoc): string {
  return `${JSON.stringify(genesisToFile(doc), null, 2)}\n`;
}

/**
 * The genesis hash: the block hash of block 0 as the ledger builds it from the document. Two
 * nodes agree on it exactly when they would start the same chain.
 */
export function genesisHash(doc: GenesisDoc): Hash {
  return blockHash(genesisState(doc).header);
}
