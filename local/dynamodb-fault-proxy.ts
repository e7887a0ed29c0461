import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AwsFault,
  CONNECTION_RESET,
  FaultQueue,
  faultStatus,
  isHttpStatus,
  requestText,
} from './aws-faults.js';

/** DynamoDB's awsJson1.0 target prefix: `X-Amz-Target: DynamoDB_20120810.UpdateItem`. */
const TARGET_PREFIX = 'DynamoDB_20120810.';

/**
 * An HTTP proxy in front of DynamoDB Local that answers chosen operations (by X-Amz-Target) with a fault, in
 * DynamoDB's own error shape: status 400 (or the code's status) and
 * `{"__type":"com.amazonaws.dynamodb.v20120810#<Code>","message":"..."}`. Every other request passes through.
 */
export class DynamoDbFaultProxy {
  private readonly faults = new FaultQueue<Omit<AwsFault, 'service'>>();

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<DynamoDbFaultProxy> {
    const upstream = new URL(target);
    let proxy: DynamoDbFaultProxy | undefined;
    const server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const header = req.headers['x-amz-target'];
      const operation = typeof header === 'string' ? header.replace(TARGET_PREFIX, '') : '';
      const fault = proxy?.faults.take(operation, requestText(req.url ?? '', body.toString('utf8')));
      if (fault) {
        if (fault.error === CONNECTION_RESET) {
          req.socket.resetAndDestroy();
          return;
        }
        const status = faultStatus(fault);
        if (isHttpStatus(fault.error)) {
          res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status} injected on ${operation}`);
          return;
        }
        const error = JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${fault.error}`,
          message: fault.message ?? `Injected ${fault.error}`,
        });
        res
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' })
          .end(error);
        return;
      }
      const forward = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    proxy = new DynamoDbFaultProxy(server, `http://127.0.0.1:${port}`);
    return proxy;
  }

  /** The next `count` calls of `operation` (e.g. UpdateItem, TransactWriteItems) get this answer. */
  injectFault(fault: Omit<AwsFault, 'service'>): void {
    this.faults.add(fault);
  }

  /** How many injected answers are still to be given. */
  pendingFaults(): number {
    return this.faults.pending();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
