import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Logs and EMF metrics would drown the output; tests observe the ledger and the emulator instead.
    env: {
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
      AWS_EC2_METADATA_DISABLED: 'true',
    },
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
