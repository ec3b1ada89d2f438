import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TickResult } from './workload';

/**
 * Cordum's four scheduler signals (namespace `cordum_scheduler`), as the simulator's replicas
 * expose them to Prometheus: dispatch latency and job lock wait histograms, stale jobs by state,
 * orphan replays by topic. Each series carries the simulated replica's id (`replica`), since one
 * simulator process serves many replicas from one endpoint.
 */
export class SchedulerMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: 'cordum_scheduler_dispatch_latency_seconds',
    help: 'Time from a job arriving to its dispatch to a pool (simulated).',
    labelNames: ['replica'],
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  private readonly lockWait = new Histogram({
    name: 'cordum_scheduler_job_lock_wait_seconds',
    help: 'Time spent waiting for a job lock (simulated).',
    labelNames: ['replica'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [this.registry],
  });
  private readonly stale = new Gauge({ name: 'cordum_scheduler_stale_jobs', help: 'Jobs waiting longer than the stale threshold (simulated).', labelNames: ['replica', 'state'], registers: [this.registry] });
  private readonly orphans = new Counter({ name: 'cordum_scheduler_orphan_replayed_total', help: 'Jobs replayed after their dispatch timed out (simulated).', labelNames: ['replica', 'topic'], registers: [this.registry] });

  record(replica: string, tick: TickResult): void {
    for (const d of tick.dispatched) this.latency.observe({ replica }, d.latencySeconds);
    for (const w of tick.lockWaits) this.lockWait.observe({ replica }, w);
    this.stale.set({ replica, state: 'pending' }, tick.stale.pending);
    for (const [topic, n] of tick.orphanReplays) this.orphans.inc({ replica, topic }, n);
  }

  /** Serves `/metrics` on loopback (port 0: any free port). */
  async serve(port = 0, host = '127.0.0.1'): Promise<{ port: number; close(): Promise<void> }> {
    const server = http.createServer((req, res) => {
      if (req.url !== '/metrics') return void res.writeHead(404).end('not found: try /metrics\n');
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (e: unknown) => res.writeHead(500).end(String(e)),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => (server.close(() => resolve()), server.closeAllConnections())) };
  }
}
