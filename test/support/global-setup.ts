import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '../../local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

/** One DynamoDB Local for the whole run (JVM start-up is ~2 s); every test makes its own table. */
export default async function setup(project: TestProject) {
  // A loaded machine can take far longer than the usual ~2 s to start the JVM.
  const dynamo = await startDynamoDbLocal({ timeoutMs: 120_000 });
  project.provide('dynamoDbEndpoint', dynamo.endpoint);
  return () => dynamo.stop();
}
