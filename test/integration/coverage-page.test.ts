/**
 * The `npm run coverage -- --html` page, rendered by Debian's headless Chromium (driven by playwright-core;
 * .ci/run installs chromium when /usr/bin/chromium is missing): what a person opening the file would see.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildCoverage,
  type CopyEvidence,
  type CoverageTarget,
  copiesPerDay,
  evidenceKey,
} from '../../lib/domain/coverage.js';
import { coveragePage } from '../../lib/operations/coverage-output.js';
import { DR_ISOLATED, DR_WEST } from '../../local/factories.js';

const CHROMIUM = '/usr/bin/chromium';
const NOW = new Date('2026-12-01T12:00:00.000Z');
const hoursAgo = (hours: number) => new Date(NOW.getTime() - hours * 3_600_000).toISOString();
const volume = (id: string) => `arn:aws:ec2:us-east-1:111111111111:volume/vol-${id}`;

let browser: BrowserContext;
let dir: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does)`);
  dir = await mkdtemp(join(tmpdir(), 'coverage-page-'));
  // A fresh profile (--user-data-dir, which playwright takes as launchPersistentContext's first argument).
  browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const target = (resource: string, destinationVaultArn: string, rpoHours?: number): CoverageTarget => ({
  resourceArn: volume(resource),
  resourceType: 'EBS',
  destinationVaultArn,
  rule: 'primary-to-dr',
  ...(rpoHours === undefined ? {} : { rpoHours }),
  firstBackupAt: hoursAgo(40),
});

describe('the coverage page', () => {
  it('shows every row with its status, age and failure, the counts, and a chart line per destination', async () => {
    const targets = [
      target('0a', DR_WEST, 24),
      target('0a', DR_ISOLATED, 24),
      target('0b', DR_WEST),
      target('0c<script>', DR_ISOLATED, 6),
    ];
    const copy = (hours: number) => ({
      newestCompleted: {
        recoveryPointArn: 'rp',
        completedAt: hoursAgo(hours),
        sourceCompletionDate: hoursAgo(hours),
      },
    });
    const evidence = new Map<string, CopyEvidence>([
      [evidenceKey(targets[0] as CoverageTarget), copy(2)],
      [evidenceKey(targets[1] as CoverageTarget), copy(30)],
      [
        evidenceKey(targets[3] as CoverageTarget),
        {
          lastFailure: {
            recoveryPointArn: 'rp',
            status: 'FAILED',
            completedAt: hoursAgo(1),
            reason: 'AccessDenied',
          },
        },
      ],
    ]);
    const chart = copiesPerDay(
      [
        { destinationVaultArn: DR_WEST, completedAt: hoursAgo(2) },
        { destinationVaultArn: DR_ISOLATED, completedAt: hoursAgo(30) },
      ],
      [DR_WEST, DR_ISOLATED],
      new Date(NOW.getTime() - 3 * 86_400_000),
      NOW,
    );
    const file = join(dir, 'coverage.html');
    await writeFile(file, coveragePage({ ...buildCoverage(targets, evidence, NOW), copiesPerDay: chart }));

    const page = await browser.newPage();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`file://${file}`);
    // Seven columns a row; text as rendered, without DOM types in this Node project.
    const cells = (await page.locator('#coverage tbody td').allTextContents()).map((text) => text.trim());
    const rows = Array.from({ length: cells.length / 7 }, (_, i) => cells.slice(i * 7, i * 7 + 7));
    expect(rows.map((cells) => [cells[0], cells[2], cells[3], cells[4], cells[5], cells[6]])).toEqual([
      [volume('0a'), 'dr-west', 'OK', '2h 0m', '24h', ''],
      [volume('0a'), 'dr-isolated', 'LATE', '1d 6h', '24h', ''],
      [volume('0b'), 'dr-west', 'NEVER', '-', '-', ''],
      [volume('0c<script>'), 'dr-isolated', 'NEVER', '-', '6h', 'FAILED: AccessDenied'],
    ]);
    expect(await page.textContent('#summary')).toContain(
      '4 rows (3 resources × their destinations): 1 OK, 1 LATE, 2 NEVER, 0 REFUSED',
    );
    expect(await page.locator('#copies-per-day polyline').count()).toBe(2);
    // Self-contained: the page itself is the only thing loaded.
    expect(requests).toEqual([`file://${file}`]);

    // Sorting by age puts the rows without a copy first and the oldest copy last.
    await page.click('#coverage th:nth-child(5)');
    const sorted = await page.locator('#coverage tbody tr td:nth-child(4)').allTextContents();
    expect(sorted).toEqual(['NEVER', 'NEVER', 'OK', 'LATE']);
    await page.close();
  });
});
