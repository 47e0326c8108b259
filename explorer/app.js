// The Synod explorer: a single page that reads the node it is served by, over JSON-RPC only.
// Plain ES modules and no build step, so the node can serve it as static files.
// Routes (hash-based, so any static server works): #/ latest blocks, #/block/<height|hash>,
// #/tx/<hash>, #/account/<address>.

const RPC = new URL('/rpc', location.href).href;
const view = document.getElementById('view');
const info = document.getElementById('info');
document.getElementById('endpoint').textContent = RPC;

let nextId = 1;
async function rpc(method, params) {
  const res = await fetch(RPC, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: nextId++, method, ...(params ? { params } : {}) }),
  });
  const body = await res.json();
  if (body.error) throw new Error(`${body.error.message} (code ${body.error.code})`);
  return body.result;
}

// Every value from the node goes through text nodes or this escaper: never raw HTML.
function esc(v) {
  return String(v ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
const short = (h) => (typeof h === 'string' && h.length > 20 ? `${h.slice(0, 10)}…${h.slice(-8)}` : h);
const link = (href, text) => `<a href="${esc(href)}" class="mono">${esc(text)}</a>`;
const ago = (ms) => {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 60 ? `${s} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
};

function showError(err) {
  view.innerHTML = `<div class="error">${esc(err.message ?? err)}</div>`;
}

async function renderInfo() {
  try {
    const i = await rpc('chain_getInfo');
    info.innerHTML = [
      ['chain', i.chainId],
      ['height', i.height],
      ['latest block', ago(i.latestTimestamp)],
      ['validators', `${i.validators} (f = ${i.f}, quorum ${i.quorum})`],
    ]
      .map(([k, v]) => `<div><span>${esc(k)}</span>${esc(v)}</div>`)
      .join('');
  } catch (err) {
    info.innerHTML = `<div class="error">node unreachable: ${esc(err.message)}</div>`;
  }
}

async function renderLatest() {
  const page = await rpc('chain_getBlocks', { limit: 20 });
  const rows = page.blocks
    .map(
      (b) => `<tr><td>${link(`#/block/${b.height}`, b.height)}</td><td class="mono">${esc(short(b.hash))}</td>
        <td>${esc(b.view)}</td><td class="mono">${esc(short(b.proposer))}</td><td>${esc(new Date(b.timestamp).toLocaleTimeString())}</td></tr>`,
    )
    .join('');
  view.innerHTML = `<h2>Latest blocks</h2><table><thead><tr><th>height</th><th>hash</th><th>round</th><th>proposer</th><th>time</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function kv(rows) {
  return `<table><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td class="mono">${v}</td></tr>`).join('')}</tbody></table>`;
}

async function renderBlock(ref) {
  const params = /^\d+$/.test(ref)
    ? { height: Number(ref), full: true }
    : { hash: ref.toLowerCase(), full: true };
  const b = await rpc('chain_getBlock', params);
  if (!b) return showError(`no block ${ref}`);
  const h = b.header;
  const cert = b.cert
    ? `round ${esc(b.cert.round)}, ${esc(b.cert.signatures.length)} signatures: ${b.cert.signatures.map((s) => esc(short(s.validator))).join(', ')}`
    : 'none (genesis)';
  const txs = b.txs
    .map(
      (t) => `<tr><td>${link(`#/tx/${t.hash}`, short(t.hash))}</td><td>${esc(t.kind)}</td>
        <td>${link(`#/account/${t.from}`, short(t.from))}</td>
        <td class="${t.receipt?.ok ? 'ok' : 'fail'}">${t.receipt?.ok ? 'ok' : esc(t.receipt?.code ?? '?')}</td></tr>`,
    )
    .join('');
  view.innerHTML = `<h2>Block ${esc(h.height)}</h2>${kv([
    ['hash', esc(h.hash)],
    ['parent', h.height > 0 ? link(`#/block/${h.height - 1}`, h.parentHash) : esc(h.parentHash)],
    ['time', esc(h.time)],
    ['proposer / round', `${esc(h.proposer)} / ${esc(h.view)}`],
    ['state root', esc(h.stateRoot)],
    ['tx root', esc(h.txRoot)],
    ['validators hash', esc(h.validatorsHash)],
    ['next validators hash', esc(h.nextValidatorsHash)],
    ['commit certificate', cert],
  ])}<h2>${esc(b.txCount)} transactions</h2><table><thead><tr><th>hash</th><th>kind</th><th>from</th><th>result</th></tr></thead><tbody>${txs}</tbody></table>`;
}

async function renderTx(hash) {
  const t = await rpc('chain_getTx', { hash: hash.toLowerCase() });
  if (!t) return showError(`no committed transaction ${hash}`);
  view.innerHTML = `<h2>Transaction</h2>${kv([
    ['hash', esc(t.hash)],
    ['block', link(`#/block/${t.height}`, `${t.height} (index ${t.index})`)],
    ['from', link(`#/account/${t.from}`, t.from)],
    ['nonce', esc(t.nonce)],
    ['kind', esc(t.kind)],
    ['body', `<pre>${esc(JSON.stringify(t.body, null, 2))}</pre>`],
    [
      'result',
      t.receipt.ok
        ? '<span class="ok">ok</span>'
        : `<span class="fail">${esc(t.receipt.code)}: ${esc(t.receipt.message)}</span>`,
    ],
  ])}`;
}

async function renderAccount(address) {
  const a = await rpc('state_getAccount', { address: address.toLowerCase() });
  if (!a) return showError(`no account ${address}`);
  const page = await rpc('chain_getAccountTxs', { address: address.toLowerCase(), limit: 20 });
  const rows = page.txs
    .map(
      (t) =>
        `<tr><td>${link(`#/tx/${t.hash}`, short(t.hash))}</td><td>${link(`#/block/${t.height}`, t.height)}</td></tr>`,
    )
    .join('');
  view.innerHTML = `<h2>Account</h2>${kv([
    ['address', esc(a.address)],
    ['member', esc(a.member)],
    ['roles', esc(a.roles.join(', '))],
    ['status', esc(a.status)],
    ['balance', esc(a.balance)],
    ['next nonce', esc(a.nonce)],
  ])}<h2>Recent transactions</h2><table><thead><tr><th>hash</th><th>block</th></tr></thead><tbody>${rows}</tbody></table>`;
}

async function route() {
  const [, kind, ref] = location.hash.match(/^#\/(\w+)\/(.+)$/) ?? [];
  try {
    if (kind === 'block') await renderBlock(ref);
    else if (kind === 'tx') await renderTx(ref);
    else if (kind === 'account') await renderAccount(ref);
    else await renderLatest();
  } catch (err) {
    showError(err);
  }
}

document.getElementById('search').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = document.getElementById('q').value.trim();
  if (/^\d+$/.test(q)) location.hash = `#/block/${q}`;
  else if (/^0x[0-9a-fA-F]{40}$/.test(q)) location.hash = `#/account/${q}`;
  else if (/^0x[0-9a-fA-F]{64}$/.test(q)) {
    // A 32-byte hash is a block or a transaction: try the block first.
    rpc('chain_getBlock', { hash: q.toLowerCase() })
      .then((b) => (location.hash = b ? `#/block/${q}` : `#/tx/${q}`))
      .catch(showError);
  } else showError('enter a height, a 0x block or tx hash (64 hex digits) or an address (40 hex digits)');
});

window.addEventListener('hashchange', route);
renderInfo();
route();
// Keep the header and the latest-blocks list fresh without a full reload.
setInterval(() => {
  renderInfo();
  if (!location.hash || location.hash === '#/') renderLatest().catch(() => {});
}, 3000);
