import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

/**
 * Real redis-server and nats-server processes for tests, on free loopback ports, each in its own
 * scratch folder. Never mocks: DriftLens users run these very servers. Start, stop and restart
 * wait for the port to open or close (no sleeps).
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once a TCP connection to the port succeeds (or rejects after timeoutMs). */
export function waitForPort(port: number, open = true, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, '127.0.0.1');
      const retry = (isOpen: boolean) => {
        socket.destroy();
        if (isOpen === open) return resolve();
        if (Date.now() > deadline) return reject(new Error(`port ${port} did not ${open ? 'open' : 'close'} within ${timeoutMs} ms`));
        setTimeout(attempt, 25); // a bounded poll of the port: there is no event for "a server started listening"
      };
      socket.once('connect', () => retry(true));
      socket.once('error', () => retry(false));
    };
    attempt();
  });
}

/** The processes listening on a local TCP port, as `ss` names them (for error messages). */
function listenersOn(port: number): string {
  const ss = spawnSync('ss', ['-Hltnp', `sport = :${port}`], { encoding: 'utf8', timeout: 5000 });
  if (ss.error || ss.status !== 0) return `unknown (ss: ${ss.error?.message ?? ss.stderr.trim()})`;
  return ss.stdout.trim().replace(/\s+/g, ' ') || 'nothing';
}

export class ServerProcess {
  private child: ChildProcess | undefined;
  readonly dir: string;

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly command: string,
    private readonly args: string[],
  ) {
    this.dir = mkdtempSync(path.join(tmpdir(), `dl-${name}-`));
  }

  async start(): Promise<this> {
    if (this.child) return this;
    const child = spawn(this.command, this.args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<never>((_, reject) =>
      child.once('exit', (code) => {
        // Gone: stop() must not wait for an exit that already happened.
        if (this.child === child) this.child = undefined;
        reject(new Error(`${this.name} exited (${code}) before listening on port ${this.port}: ${stderr.trim()}`));
      }),
    );
    await Promise.race([waitForPort(this.port, true), exited]);
    // The port opening proves nothing when another server took it first (freePort() probes, then
    // lets go): seen in CI, a NATS node listened on a Redis node's port, the Redis node exited, and
    // the cluster's cleanup waited for a port that never closed. Another listener: this start failed.
    child.removeAllListeners('exit');
    const listeners = listenersOn(this.port);
    if (!listeners.startsWith('unknown') && !listeners.includes(`pid=${child.pid},`)) {
      if (this.child === child) this.child = undefined;
      child.kill('SIGKILL');
      throw new Error(`${this.name} exited (port taken) before listening on port ${this.port}: ${listeners}`);
    }
    return this;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.child = undefined;
    // A process that already exited has emitted its 'exit': waiting for another one hung forever
    // (a cluster whose node failed to start held CI for its 10-minute limit in its cleanup).
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await gone;
    }
    await waitForPort(this.port, false).catch((e: Error) => {
      // Seen once in CI after a SIGKILL: say who holds the port, the next time it happens.
      throw new Error(`${e.message} after ${this.name} (pid ${child.pid}) exited; listening on it now: ${listenersOn(this.port)}`);
    });
  }

  /** Sends a signal to the running server; SIGSTOP freezes it (its sockets stay open, nothing answers), SIGCONT thaws it. */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function startRedis(port?: number): Promise<ServerProcess & { url: string }> {
  const p = port ?? (await freePort());
  const server = new ServerProcess('redis', p, 'redis-server', ['--bind', '127.0.0.1', '--port', String(p), '--save', '', '--appendonly', 'no']);
  await server.start();
  return Object.assign(server, { url: `redis://127.0.0.1:${p}` });
}

export async function startNats(port?: number, extraArgs: string[] = []): Promise<ServerProcess & { url: string }> {
  const p = port ?? (await freePort());
  const server = new ServerProcess('nats', p, 'nats-server', ['-a', '127.0.0.1', '-p', String(p), ...extraArgs]);
  await server.start();
  return Object.assign(server, { url: `nats://127.0.0.1:${p}` });
}
