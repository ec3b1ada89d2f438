import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { freePort, ServerProcess } from './servers';

/**
 * A real Prometheus (Debian's package) for tests, scraping the given targets every
 * `scrapeInterval`, and a tiny exporter whose gauges a test sets, as any instrumented service
 * exposes them. Never a fake Prometheus: the verifier talks to the real HTTP API.
 */

export interface PrometheusServer extends ServerProcess {
  url: string;
  /** Resolves once every target has been scraped at least once (`up == 1`). */
  scraped(): Promise<void>;
  /** Resolves once an instant query answers exactly `value` (a scrape carried a change). */
  answers(query: string, value: string): Promise<void>;
}

/** Basic auth in front of the API (Prometheus' --web.config.file); `bcrypt` is the password's hash. */
export interface PrometheusAuth {
  user: string;
  password: string;
  bcrypt: string;
}

export async function startPrometheus(targets: string[], scrapeInterval = '1s', extraArgs: string[] = [], auth?: PrometheusAuth): Promise<PrometheusServer> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'dl-prometheus-config-'));
  const config = path.join(dir, 'prometheus.yml');
  if (auth) {
    writeFileSync(path.join(dir, 'web.yml'), `basic_auth_users:\n  ${auth.user}: ${JSON.stringify(auth.bcrypt)}\n`);
    extraArgs = [...extraArgs, `--web.config.file=${path.join(dir, 'web.yml')}`];
  }
  // The test's own readiness and value polls authenticate like any client would.
  const headers: Record<string, string> = auth ? { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}` } : {};
  writeFileSync(config, `global:\n  scrape_interval: ${scrapeInterval}\n  evaluation_interval: ${scrapeInterval}\nscrape_configs:\n  - job_name: driftlens-test\n    static_configs:\n      - targets: ${JSON.stringify(targets)}\n`);
  const server = new ServerProcess('prometheus', port, 'prometheus', [
    `--config.file=${config}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
    ...extraArgs,
  ]);
  await server.start();
  const url = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${url}/-/ready`, { headers })).ok, 'prometheus ready');
  const answers = (query: string, value: string) =>
    until(async () => {
      const body = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent(query)}`, { headers })).json()) as { data: { result: { value: [number, string] }[] } };
      return body.data.result[0]?.value[1] === value;
    }, `${query} == ${value}`);
  const scraped = () => answers('min(up{job="driftlens-test"})', '1');
  const dispose = server.dispose.bind(server);
  return Object.assign(server, { url, scraped, answers, dispose: async () => (await dispose(), rmSync(dir, { recursive: true, force: true })) });
}

/** A bounded poll of an HTTP state that has no event (readiness, the first scrape). */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** An exporter of gauges in Prometheus' text format; `set` changes what the next scrape sees. */
export async function startExporter(): Promise<{ target: string; set(name: string, value: number, labels?: Record<string, string>): void; close(): Promise<void> }> {
  const values = new Map<string, number>();
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404).end();
    const lines = [...values].map(([series, v]) => `${series} ${Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : v}`);
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(lines.join('\n') + '\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    target: `127.0.0.1:${port}`,
    set(name, value, labels = {}) {
      const l = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',');
      values.set(l ? `${name}{${l}}` : name, value);
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
