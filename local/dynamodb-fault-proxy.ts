import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AwsFault, CONNECTION_RESET, FaultQueue, faultStatus, isHttpStatus } from './aws-faults.js';

/** DynamoDB's awsJson1.0 target prefix: `X-Amz-Target: DynamoDB_20120810.UpdateItem`. */
const TARGET_PREFIX = 'DynamoDB_20120810.';

/**
 * An HTTP proxy in front of DynamoDB Local that answers chosen operations (by X-Amz-Target) with a fault, in
 * DynamoDB's own error shape: status 400 (or the code's status) and
 * `{"__type":"com.amazonaws.dynamodb.v20120810#<Code>","message":"..."}`. Every other request passes through.
 */
export class DynamoDbFaultProxy {
  private readonly faults = new FaultQueue<Omit<AwsFault, 'service'>>();
  /** Faults answered, per error code. */
  readonly answered: Record<string, number> = {};

  private constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {}

  static async start(target: string): Promise<DynamoDbFaultProxy> {
    const upstream = new URL(target);
    let proxy: DynamoDbFaultProxy | undefined;
    const server = createServer((req, res) => {
      const header = req.headers['x-amz-target'];
      const operation = typeof header === 'string' ? header.replace(TARGET_PREFIX, '') : '';
      const fault = proxy?.faults.take(operation);
      if (fault) {
        if (proxy) proxy.answered[fault.error] = (proxy.answered[fault.error] ?? 0) + 1;
        req.resume();
        if (fault.error === CONNECTION_RESET) {
          req.socket.resetAndDestroy();
          return;
        }
        const status = faultStatus(fault);
        if (isHttpStatus(fault.error)) {
          res.writeHead(status, { 'content-type': 'text/plain' }).end(`${status} injected on ${operation}`);
          return;
        }
        const body = JSON.stringify({
          __type: `com.amazonaws.dynamodb.v20120810#${fault.error}`,
          message: fault.message ?? `Injected ${fault.error}`,
        });
        res
          .writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' })
          .end(body);
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
      req.pipe(forward);
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

  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}
