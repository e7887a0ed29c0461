process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
const { startDynamoDbLocal } = await import('../../test/support/dynamodb-local.js');
const { BenchStack, warmUpDynamoDb } = await import('./bench-stack.js');
const { VirtualTime } = await import('./virtual-time.js');
const { backupJobCompleted, policyFor } = await import('../../test/support/factories.js');
const d = await startDynamoDbLocal();
await warmUpDynamoDb(d.endpoint);
try {
  for (let i = 0; i < 2; i++) {
    const stack = await BenchStack.start({
      dynamoDbEndpoint: d.endpoint,
      policy: policyFor(),
      copySlots: 50,
      concurrencyLimit: 50,
      copyDurationMs: 600_000,
      time: new VirtualTime(20),
    });
    const t0 = stack.now();
    let printed = false;
    const poll = setInterval(async () => {
      const v = (stack.now() - t0) / 1000;
      if (!printed && v > 1500 && v < 40000) {
        printed = true;
        const holders = await stack.runtime.slots!.holders();
        const waiting = await stack.runtime.slots!.waiting(1000);
        const running = stack.stepFunctions.executions().filter((e) => e.status === 'RUNNING').length;
        const jobs = stack.emulator.copyJobs().filter((j) => j.state === 'RUNNING').length;
        console.log(
          'AT',
          v,
          'holders',
          Object.keys(holders ?? {}).length,
          'waiting',
          waiting.length,
          'running executions',
          running,
          'running jobs',
          jobs,
        );
        const ledger = await stack.runtime.ledger.scan();
        const byStatus: Record<string, number> = {};
        for (const item of ledger) byStatus[item.status] = (byStatus[item.status] ?? 0) + 1;
        console.log('LEDGER', JSON.stringify(byStatus));
        const { slotHolder } = await import('../../lib/aws/copy-slots.js');
        const running2 = new Set(
          ledger.filter((i) => i.status === 'RUNNING' || i.status === 'PENDING').map((i) => slotHolder(i)),
        );
        const phantom = Object.keys(holders ?? {}).filter((h) => !running2.has(h));
        console.log(
          'PHANTOM holders (not RUNNING/PENDING in ledger)',
          phantom.length,
          'waiting holders also holding',
          waiting.filter((w) => (holders ?? {})[w.holder] !== undefined).length,
        );
      }
    }, 100);
    await Promise.all(Array.from({ length: 100 }, () => backupJobCompleted()).map((e) => stack.deliver(e)));
    await stack.settle();
    clearInterval(poll);
    const ex = stack.stepFunctions.executions();
    const slowest = ex.sort((a, b) => (b.stopDate?.getTime() ?? 0) - (a.stopDate?.getTime() ?? 0))[0]!;
    const span = ((slowest.stopDate?.getTime() ?? 0) - t0) / 1000;
    console.log('RUN', i, 'makespan', span, 'errors', stack.deliveryErrors.length);
    if (span > 2000 && false) {
      for (const e of slowest.history)
        console.log(
          ((e.timestamp?.getTime() ?? 0) - t0) / 1000,
          e.type,
          e.stateEnteredEventDetails?.name ?? '',
          JSON.stringify(
            e.taskSucceededEventDetails?.output ??
              e.taskFailedEventDetails ??
              e.taskTimedOutEventDetails ??
              '',
          ).slice(0, 100),
        );
      const rp = (slowest.input as { resources: string[] }).resources[0];
      console.log(
        'EVENTS',
        JSON.stringify(
          stack.emulator.events.filter((e) => e.resources[0] === rp).map((e) => [e.detail.state, e.time]),
        ),
      );
      const starts = stack.emulator
        .copyJobs()
        .map((j) => ((j.copyJob.CreationDate?.getTime() ?? 0) - t0) / 1000)
        .sort((a, b) => a - b);
      console.log('STARTS', starts.map((s) => s.toFixed(0)).join(' '));
    }
    await stack.close();
  }
} finally {
  await d.stop();
}
