// Serverless variable source for COPY_POLICY: runs the real policy check, so a bad policy fails
// `serverless package`/`deploy` (and `invoke local`) with every problem listed, and returns the policy as JSON.
const { execFileSync } = require('node:child_process');
const path = require('node:path');

module.exports = async ({ resolveConfigurationProperty }) => {
  const file = (await resolveConfigurationProperty(['custom', 'copyPolicyFile'])) || 'copy-policy.yml';
  const root = path.join(__dirname, '..');
  try {
    return execFileSync(process.execPath, ['--import', 'tsx', 'scripts/policy-check.ts', file, '--emit'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  } catch (error) {
    throw new Error(`copy policy ${file} refused:\n${error.stderr || error.message}`);
  }
};
