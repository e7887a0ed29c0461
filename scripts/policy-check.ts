import { readFile } from 'node:fs/promises';
import { type CopyPolicy, type PolicyDeployment, parseCopyPolicy } from '../lib/domain/policy.js';
import { documentHints, type PolicyWarning, policyWarnings } from '../lib/domain/policy-warnings.js';
import { RejectionError, type RuleViolation } from '../lib/errors.js';
import { parsePolicyText } from '../lib/policy-file.js';
import { EXIT, escapeControl, parseCommandLine, run, UsageError } from './command-line.js';

const USAGE = `Usage: npm run policy:check [-- <file> ...] [--region <r>] [--account <id>] [--json] [--emit]

Validates each copy policy given (default: copy-policy.yml) against every rule the service enforces and
prints each problem with its path in the file. Where the service will run decides some rules: a destination
equal to a source vault of its rule (<name> in that Region and account) is refused, and so is a copy role
of another account. Also warns, without failing, about settings AWS Backup would
ignore (cold storage on a resource type without it), rules that lose to earlier ones (the first rule in file
order wins a destination), resource types that are not AWS Backup ResourceType values, and hints at YAML
slips (unquoted account ids, Inherit for inherit).

  --region   the Region the service is deployed to (default: env AWS_REGION, then AWS_DEFAULT_REGION);
             without one, the rules above are not checked and a warning says so
  --account  the account it is deployed to (default: each destination's copy role's account, since a role
             can only be passed in its own account)
  --json   print one JSON object: {"valid": bool, "files": [{"file", "valid", "problems", "warnings", "hints"}]}
           (problems: [{"field","value","rule"}]; warnings and hints: [{"field","message"}])
  --emit   print only the validated policy as compact JSON (one file; packaging bundles it into the functions)
  --debug  print stack traces of errors
  --help   this text

Exit code: 0 when every file is valid (warnings or not), 1 when any is invalid, 2 for bad usage or a file
that cannot be read.`;

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const ACCOUNT = /^\d{12}$/;

interface FileResult {
  file: string;
  valid: boolean;
  problems: RuleViolation[];
  warnings: PolicyWarning[];
  /** YAML slips behind a problem or a surprise (an unquoted account id, `Inherit`). */
  hints: PolicyWarning[];
  policy?: CopyPolicy;
}

const UNCHECKED_DEPLOYMENT: PolicyWarning = {
  field: '(deployment)',
  message: 'no --region (or AWS_REGION): destinations were not checked against the source vaults',
};

function check(file: string, text: string, deployment: PolicyDeployment | undefined): FileResult {
  let document: unknown;
  try {
    document = parsePolicyText(text, file);
    const policy = parseCopyPolicy(document, deployment);
    const hints = documentHints(document);
    const warnings = [...policyWarnings(policy), ...(deployment ? [] : [UNCHECKED_DEPLOYMENT])];
    return { file, valid: true, problems: [], warnings, hints, policy };
  } catch (error) {
    if (!(error instanceof RejectionError)) throw error;
    return { file, valid: false, problems: error.violations, warnings: [], hints: documentHints(document) };
  }
}

function formatResult({ file, valid, problems, warnings, hints, policy }: FileResult): string[] {
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const head = policy
    ? `${file}: valid (${count(policy.rules.length, 'rule')}, ${count(policy.rules.flatMap((r) => r.destinations).length, 'destination')})`
    : `${file}: invalid, ${count(problems.length, 'problem')}`;
  return [
    valid && warnings.length > 0 ? `${head}, ${count(warnings.length, 'warning')}` : head,
    ...problems.map((p) => `  ${p.field} = ${JSON.stringify(p.value) ?? 'missing'}: ${p.rule}`),
    ...warnings.map((w) => `  warning: ${w.field}: ${w.message}`),
    ...hints.map((h) => `  hint: ${h.field}: ${h.message}`),
  ].map(escapeControl);
}

async function main(): Promise<number> {
  const { values, positionals } = parseCommandLine(
    USAGE,
    { emit: { type: 'boolean', default: false }, region: { type: 'string' }, account: { type: 'string' } },
    { allowPositionals: true },
  );
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (region !== undefined && !REGION.test(region))
    throw new UsageError(`--region ${region}: not a Region name`);
  if (values.account !== undefined && !ACCOUNT.test(values.account)) {
    throw new UsageError(`--account ${values.account}: not a 12-digit account id`);
  }
  const deployment =
    region === undefined ? undefined : { region, ...(values.account ? { accountId: values.account } : {}) };
  const files = positionals.length > 0 ? positionals : ['copy-policy.yml'];
  if (values.emit && files.length > 1) throw new UsageError('--emit takes one file');
  const texts = await Promise.all(
    files.map((file) =>
      readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
        throw new UsageError(`${file}: cannot read it (${error.code})`, [], { cause: error });
      }),
    ),
  );
  const results = files.map((file, i) => check(file, texts[i] ?? '', deployment));
  const valid = results.every((result) => result.valid);

  if (values.emit) {
    const [result] = results;
    if (result?.policy) console.log(JSON.stringify(result.policy));
    else if (result) console.error(formatResult(result).join('\n'));
  } else if (values.json) {
    const documents = results.map(({ policy: _, ...result }) => result);
    console.log(JSON.stringify({ valid, files: documents }, null, 2));
  } else {
    for (const result of results)
      (result.valid ? console.log : console.error)(formatResult(result).join('\n'));
  }
  return valid ? EXIT.ok : EXIT.failure;
}

run(main);
