/**
 * The benchmark chart as a standalone SVG: committed tx/s and p50/p99 latency against offered
 * tx/s. No charting library is installed in this repository and the benchmark must run from
 * a fresh clone with no extra set-up, so the few lines and axes are drawn by hand here.
 */

export interface ChartPoint {
  offered: number;
  committed: number;
  p50: number;
  p99: number;
}

const W = 720;
const H = 420;
const M = { left: 70, right: 80, top: 40, bottom: 50 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderChart(points: ChartPoint[], title: string): string {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const xMax = niceMax(Math.max(...points.map((p) => p.offered), 1));
  const yMax = niceMax(Math.max(...points.map((p) => Math.max(p.committed, p.offered)), 1));
  const lMax = niceMax(Math.max(...points.map((p) => (Number.isFinite(p.p99) ? p.p99 : 0)), 1));
  const x = (v: number) => M.left + (v / xMax) * pw;
  const y = (v: number) => M.top + ph - (v / yMax) * ph;
  const yl = (v: number) => M.top + ph - (v / lMax) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    // The accessible name of the image (screen readers, and viewers that show it on hover).
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="14">${esc(title)}</text>`,
  );
  for (let i = 0; i <= 5; i++) {
    const gy = M.top + ph - (i / 5) * ph;
    out.push(
      `<line x1="${M.left}" y1="${gy}" x2="${M.left + pw}" y2="${gy}" stroke="#ddd"/>`,
      `<text x="${M.left - 6}" y="${gy + 4}" text-anchor="end">${Math.round((yMax * i) / 5)}</text>`,
      `<text x="${M.left + pw + 6}" y="${gy + 4}" fill="#c0392b">${Math.round((lMax * i) / 5)}</text>`,
    );
    const gx = M.left + (i / 5) * pw;
    out.push(
      `<text x="${gx}" y="${M.top + ph + 18}" text-anchor="middle">${Math.round((xMax * i) / 5)}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${M.left + pw / 2}" y="${H - 10}" text-anchor="middle">offered tx/s</text>`,
    `<text transform="translate(18 ${M.top + ph / 2}) rotate(-90)" text-anchor="middle">committed tx/s</text>`,
    `<text transform="translate(${W - 14} ${M.top + ph / 2}) rotate(90)" text-anchor="middle" fill="#c0392b">latency ms</text>`,
    // The ideal: everything offered commits.
    `<line x1="${x(0)}" y1="${y(0)}" x2="${x(Math.min(xMax, yMax))}" y2="${y(Math.min(xMax, yMax))}" stroke="#aaa" stroke-dasharray="4 4"/>`,
  );
  const line = (pts: [number, number][], color: string, dash = '') => {
    const d = pts.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${a.toFixed(1)},${b.toFixed(1)}`).join(' ');
    out.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2" ${dash}/>`);
    for (const [a, b] of pts)
      out.push(`<circle cx="${a.toFixed(1)}" cy="${b.toFixed(1)}" r="3" fill="${color}"/>`);
  };
  const finite = points.filter((p) => Number.isFinite(p.p50) && Number.isFinite(p.p99));
  line(
    points.map((p) => [x(p.offered), y(p.committed)]),
    '#2471a3',
  );
  line(
    finite.map((p) => [x(p.offered), yl(p.p50)]),
    '#c0392b',
    'stroke-dasharray="6 3"',
  );
  line(
    finite.map((p) => [x(p.offered), yl(p.p99)]),
    '#e67e22',
    'stroke-dasharray="2 3"',
  );
  const legend: [string, string][] = [
    ['committed tx/s', '#2471a3'],
    ['p50 latency', '#c0392b'],
    ['p99 latency', '#e67e22'],
  ];
  legend.forEach(([label, color], i) => {
    const ly = M.top + 14 + i * 16;
    out.push(
      `<line x1="${M.left + 10}" y1="${ly - 4}" x2="${M.left + 30}" y2="${ly - 4}" stroke="${color}" stroke-width="2"/>`,
      `<text x="${M.left + 36}" y="${ly}">${label}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
