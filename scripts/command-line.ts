import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses a command's options plus `--help`, which prints `usage` and exits 0. */
export function commandLine<const O extends Options>(usage: string, options: O) {
  const { values } = parseArgs({ options: { ...options, help: { type: 'boolean', default: false } } as O });
  if ((values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return values;
}

/** Prints what is wrong and the usage, and exits 2: the exit code every command here uses for bad options. */
export function exitWithUsage(usage: string, message: string): never {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
}
