/**
 * Serves files of one folder (the explorer) for GET and HEAD. Safety rules, each because a
 * request path is attacker-controlled:
 * - the path is percent-decoded once, and any `..`, empty-after-decoding separator trick,
 *   backslash or NUL is refused, so `%2e%2e%2f` cannot climb out;
 * - segments starting with `.` are not served (no `.env`, `.git`);
 * - the final file is resolved through symlinks and must still lie inside the folder;
 * - only regular files are served, with a content type from a fixed table and `nosniff`.
 * Anything refused or absent is the same 404 as a missing file, so probing learns nothing.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export function contentTypeFor(file: string): string {
  return CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

/** The file a URL pathname maps to inside `root`, or null when the path is refused. */
export function safeJoin(root: string, pathname: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null; // malformed percent-encoding
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const segments = decoded.split('/').filter((s) => s.length > 0);
  for (const s of segments) if (s === '..' || s.startsWith('.')) return null;
  const full = join(root, ...segments);
  if (full !== root && !full.startsWith(root + sep)) return null;
  return full;
}

/** The real folder, or null when it does not exist (yet): the explorer may be built later. */
async function realRoot(dir: string): Promise<string | null> {
  try {
    return await realpath(dir);
  } catch {
    return null;
  }
}

/**
 * Answers the request from `dir` and returns true, or returns false (nothing written) when
 * there is no such file, so the caller sends its 404.
 */
export async function serveStatic(
  dir: string,
  pathname: string,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<boolean> {
  const root = await realRoot(dir);
  if (!root) return false;
  let file = safeJoin(root, pathname);
  if (!file) return false;
  try {
    let st = await stat(file);
    if (st.isDirectory()) {
      file = join(file, 'index.html');
      st = await stat(file);
    }
    const real = await realpath(file);
    if (!real.startsWith(root + sep) || !st.isFile()) return false;
    const type = contentTypeFor(real);
    res.writeHead(200, {
      'content-type': type,
      'content-length': st.size,
      'x-content-type-options': 'nosniff',
      // The explorer's HTML names its assets; keep it fresh so a node upgrade shows at once.
      'cache-control': type.startsWith('text/html') ? 'no-cache' : 'public, max-age=300',
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    const stream = createReadStream(real);
    stream.on('error', () => res.destroy());
    stream.pipe(res);
    return true;
  } catch {
    return false;
  }
}
