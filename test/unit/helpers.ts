import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { analyzeDocument } from '../../src/core/analysis';
import type { DocumentKind } from '../../src/core/classify';
import { formatForFileName } from '../../src/core/document';
import { TextLines } from '../../src/core/textLines';

/** The repository root, from out/test/unit (compiled) or test/unit. */
export const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}out${path.sep}`) ? '../../..' : '../..');

export function fixture(relative: string): string {
  return readFileSync(path.join(ROOT, 'test/fixtures', relative), 'utf8');
}

/** "line:col severity code" (1-based) for each problem, sorted by position: what a person sees. */
export function problemsAt(text: string, fileName: string, kind: DocumentKind): string[] {
  const analysis = analyzeDocument(text, formatForFileName(fileName), kind);
  const lines = new TextLines(text);
  return [...analysis.problems]
    .sort((a, b) => a.span.start - b.span.start)
    .map((p) => {
      const s = lines.positionAt(p.span.start);
      const e = lines.positionAt(p.span.end);
      return `${s.line + 1}:${s.character + 1}-${e.line + 1}:${e.character + 1} ${p.severity} ${p.code}`;
    });
}

/** Runs dist/cli.js with exactly `env` (no inherited endpoints) and collects its output. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  /** timeoutMs: SIGTERM after this long (then `code` is null), for a command that might not end. */
  options: { cwd?: string; onStdout?: (stdoutSoFar: string) => void; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/cli.js'), ...args], { cwd: options.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The servers a CLI test runs against, and a connection with every permission that sets them up. */
export interface AclServers {
  control: { call(command: string, ...args: string[]): Promise<unknown> };
  redisUrl: string;
  natsUrl: string;
}

/** A Redis ACL user with these rules for one test (deleted after it), and the environment that runs the CLI as it. */
export async function cliAsAclUser(t: { after(fn: () => unknown): void }, servers: AclServers, user: string, ...rules: string[]): Promise<NodeJS.ProcessEnv> {
  await servers.control.call('ACL', 'SETUSER', user, 'reset', 'on', '>sim-pass', ...rules);
  t.after(() => servers.control.call('ACL', 'DELUSER', user));
  return { PATH: process.env.PATH ?? '', DRIFTLENS_REDIS_URL: servers.redisUrl, DRIFTLENS_NATS_URL: servers.natsUrl, DRIFTLENS_REDIS_USERNAME: user, DRIFTLENS_REDIS_PASSWORD: 'sim-pass' };
}
