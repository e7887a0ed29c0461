// Serverless variable source for the copy policy: runs the real policy check, so a bad policy fails
// `serverless package`/`deploy` (and `invoke local`) with every problem listed. Each property is a resolver:
//   ${file(./scripts/copy-policy-variable.cjs):bundledPolicy}    the validated policy's JSON as a JavaScript
//                                                                string literal, for esbuild's `define`
//   ${file(./scripts/copy-policy-variable.cjs):copyRoleArns}     the distinct iamRoleArn values (for iam:PassRole)
//   ${file(./scripts/copy-policy-variable.cjs):sourceVaultArns}  the source vaults' ARNs in the deploying
//                                                                account and region (Fn::Join objects)
// (osls calls a property only when the module exports an object: a function export hides every property.)
const { execFileSync } = require('node:child_process');
const path = require('node:path');

const root = path.join(__dirname, '..');
/** Policy file and Region → validated policy; one check each, however many properties are resolved. */
const checked = new Map();

async function validatedPolicy({ resolveConfigurationProperty }) {
  const file = (await resolveConfigurationProperty(['custom', 'copyPolicyFile'])) || 'copy-policy.yml';
  // The deploying Region: a destination equal to a source vault of its rule (the vault name there) is refused.
  const region = await resolveConfigurationProperty(['provider', 'region']);
  const key = `${file}\n${region}`;
  if (!checked.has(key)) {
    try {
      const json = execFileSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/policy-check.ts', file, '--emit', '--region', region],
        { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      ).trim();
      checked.set(key, JSON.parse(json));
    } catch (error) {
      throw new Error(`copy policy ${file} refused:\n${error.stderr || error.message}`);
    }
  }
  return checked.get(key);
}

const distinct = (values) => [...new Set(values)].sort();

module.exports = {
  // esbuild reads a define's value as code: a string literal of the JSON. Every `$` is escaped, since osls
  // would resolve a `${...}` in a returned value as one of its variables.
  bundledPolicy: async (context) =>
    JSON.stringify(JSON.stringify(await validatedPolicy(context))).replaceAll('$', '\\u0024'),

  copyRoleArns: async (context) => {
    const { rules } = await validatedPolicy(context);
    return distinct(rules.flatMap((rule) => rule.destinations.map((destination) => destination.iamRoleArn)));
  },

  // Fn::Join, not Fn::Sub: a returned "${AWS::Region}" would be read as a Serverless variable.
  sourceVaultArns: async (context) => {
    const { rules } = await validatedPolicy(context);
    return distinct(rules.flatMap((rule) => rule.match.sourceVaults)).map((vault) => ({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':backup:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          `:backup-vault:${vault}`,
        ],
      ],
    }));
  },
};
