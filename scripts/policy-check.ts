import { parseArgs } from 'node:util';
import { RejectionError } from '../lib/errors.js';
import { readPolicyFile } from '../lib/policy-file.js';

const USAGE = `Usage: npm run policy:check [-- <file>] [--json] [--emit]

Validates a copy policy (default: copy-policy.yml) against every rule the service enforces and prints
each problem with its path in the file. Exits 1 when there is any problem.

  --json   print the result as one JSON object: {"valid": bool, "problems": [{"field","value","rule"}]}
  --emit   print only the validated policy as compact JSON (used by serverless.yml to fill COPY_POLICY)
  --help   this text`;

const { values, positionals } = parseArgs({
  options: { json: { type: 'boolean' }, emit: { type: 'boolean' }, help: { type: 'boolean' } },
  allowPositionals: true,
});
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const file = positionals[0] ?? 'copy-policy.yml';

try {
  const policy = await readPolicyFile(file);
  if (values.emit) console.log(JSON.stringify(policy));
  else if (values.json) console.log(JSON.stringify({ valid: true, file, problems: [] }));
  else
    console.log(
      `${file}: valid (${policy.rules.length} rules, ${policy.rules.flatMap((r) => r.destinations).length} destinations)`,
    );
} catch (error) {
  if (!(error instanceof RejectionError)) throw error;
  const problems = error.violations;
  if (values.json) console.log(JSON.stringify({ valid: false, file, problems }));
  else {
    console.error(`${file}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`);
    for (const p of problems)
      console.error(`  ${p.field} = ${JSON.stringify(p.value) ?? 'missing'}: ${p.rule}`);
  }
  process.exit(1);
}
