import { COVERAGE_STATUSES, type Coverage, type CoverageRow, type copiesPerDay } from '../domain/coverage.js';
import { escapeControl, formatAge, formatTable } from './table.js';

/** The part of an ARN after its last colon or slash: a vault's or a resource's name. */
const shortName = (arn: string) => arn.slice(Math.max(arn.lastIndexOf(':'), arn.lastIndexOf('/')) + 1);

const ageOf = (row: CoverageRow) => (row.newestCopy ? formatAge(row.newestCopy.ageHours * 3600) : '-');
const rpoOf = (row: CoverageRow) => (row.rpoHours === undefined ? '-' : `${row.rpoHours}h`);
const failureOf = (row: CoverageRow) =>
  row.lastFailure ? `${row.lastFailure.status}: ${row.lastFailure.reason}` : '';

export function summaryLine(coverage: Coverage): string {
  const { summary } = coverage;
  const counts = COVERAGE_STATUSES.map((status) => `${summary.byStatus[status]} ${status}`).join(', ');
  return `${summary.rows} rows (${summary.resources} resources × their destinations): ${counts}; ${summary.outsideRpo} outside RPO`;
}

/** The coverage table as text: one row per (resource, destination), then the counts. */
export function formatCoverage(coverage: Coverage): string {
  if (coverage.rows.length === 0) return `Coverage: no protected resource found in the source vaults`;
  const table = formatTable(coverage.rows, [
    { header: 'RESOURCE', value: (r) => r.resourceArn, maxWidth: 70 },
    { header: 'TYPE', value: (r) => r.resourceType },
    { header: 'DESTINATION', value: (r) => r.destinationVaultArn },
    { header: 'STATUS', value: (r) => r.status },
    { header: 'NEWEST COPY AGE', value: ageOf },
    { header: 'RPO', value: rpoOf },
    { header: 'LAST FAILURE', value: failureOf, maxWidth: 80 },
  ]);
  return `${table}\n\n${escapeControl(summaryLine(coverage))}`;
}

const HTML_ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const html = (text: string | number) => String(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];

/** Copies per day per destination as an inline SVG line chart, one line per destination. */
function chartSvg(chart: ReturnType<typeof copiesPerDay>): string {
  const width = 640;
  const height = 200;
  const pad = 30;
  const max = Math.max(1, ...chart.byDestination.flatMap((d) => d.counts));
  const step = chart.days.length > 1 ? (width - 2 * pad) / (chart.days.length - 1) : 0;
  const x = (i: number) => pad + i * step;
  const y = (n: number) => height - pad - (n / max) * (height - 2 * pad);
  const lines = chart.byDestination.map((d, k) => {
    const colour = PALETTE[k % PALETTE.length];
    const points = d.counts.map((n, i) => `${x(i).toFixed(1)},${y(n).toFixed(1)}`).join(' ');
    const dots = d.counts
      .map(
        (n, i) =>
          `<circle cx="${x(i).toFixed(1)}" cy="${y(n).toFixed(1)}" r="3" fill="${colour}"><title>${html(chart.days[i] ?? '')}: ${n}</title></circle>`,
      )
      .join('');
    return `<polyline fill="none" stroke="${colour}" stroke-width="2" points="${points}"/>${dots}`;
  });
  const first = chart.days[0] ?? '';
  const last = chart.days[chart.days.length - 1] ?? '';
  const legend = chart.byDestination
    .map(
      (d, k) =>
        `<li><span class="swatch" style="background:${PALETTE[k % PALETTE.length]}"></span>${html(d.destinationVaultArn)}</li>`,
    )
    .join('');
  return `<svg id="copies-per-day" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="Copies completed per day per destination">
<line x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${height - pad}" stroke="#999"/>
<line x1="${pad}" y1="${pad}" x2="${pad}" y2="${height - pad}" stroke="#999"/>
<text x="${pad}" y="${height - 8}" font-size="11">${html(first)}</text>
<text x="${width - pad}" y="${height - 8}" font-size="11" text-anchor="end">${html(last)}</text>
<text x="${pad - 4}" y="${pad + 4}" font-size="11" text-anchor="end">${max}</text>
${lines.join('\n')}
</svg><ul class="legend">${legend}</ul>`;
}

/**
 * One self-contained page (inline CSS and JS, nothing fetched): the summary, the coverage table (sortable by
 * clicking a header) and, when the report has it, the chart of copies per day per destination.
 */
export function coveragePage(
  coverage: Coverage & { since?: string; copiesPerDay?: ReturnType<typeof copiesPerDay> },
): string {
  const rows = coverage.rows
    .map(
      (r) => `<tr class="status-${r.status.toLowerCase()}">
<td>${html(r.resourceArn)}</td><td>${html(r.resourceType)}</td><td title="${html(r.destinationVaultArn)}">${html(shortName(r.destinationVaultArn))}</td>
<td class="status">${r.status}</td><td data-sort="${r.newestCopy?.ageHours ?? -1}">${html(ageOf(r))}</td><td>${html(rpoOf(r))}</td><td>${html(failureOf(r))}</td></tr>`,
    )
    .join('\n');
  const chart = coverage.copiesPerDay
    ? `<h2>Copies completed per day</h2>${chartSvg(coverage.copiesPerDay)}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DR coverage</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5rem;color:#222}
table{border-collapse:collapse;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0;cursor:pointer}
.status-ok .status{background:#d8f3dc}.status-late .status{background:#ffe8a3}
.status-never .status{background:#ffc9c9}.status-refused .status{background:#e0e0e0}
.legend{list-style:none;padding:0}.swatch{display:inline-block;width:.8rem;height:.8rem;margin-right:.4rem}
</style></head><body>
<h1>DR coverage</h1>
<p id="summary">${html(summaryLine(coverage))}. Generated ${html(coverage.generatedAt)}${coverage.since ? `; resources backed up since ${html(coverage.since)}` : ''}.</p>
<table id="coverage"><thead><tr><th>Resource</th><th>Type</th><th>Destination</th><th>Status</th><th>Newest copy age</th><th>RPO</th><th>Last failure</th></tr></thead>
<tbody>
${rows}
</tbody></table>
${chart}
<script>
document.querySelectorAll('#coverage th').forEach(function (th, column) {
  th.addEventListener('click', function () {
    var body = document.querySelector('#coverage tbody');
    var key = function (tr) { var td = tr.children[column]; return td.dataset.sort !== undefined ? Number(td.dataset.sort) : td.textContent; };
    var rows = Array.prototype.slice.call(body.rows).sort(function (a, b) { var x = key(a), y = key(b); return x < y ? -1 : x > y ? 1 : 0; });
    rows.forEach(function (tr) { body.appendChild(tr); });
  });
});
</script>
</body></html>
`;
}
