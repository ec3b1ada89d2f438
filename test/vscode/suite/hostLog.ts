import * as assert from 'node:assert/strict';
import { readdirSync, readFileSync, watch } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { waitFor } from './waitFor';

/**
 * The extension host's log entries that match, up to now: an entry is a timestamped line with the
 * lines that continue it (a warning's stack). VS Code writes its log with a delay: a marker, logged
 * by VS Code itself after everything the test did, shows when all earlier entries are on disk (it
 * is a dropped event of a provider registered here for that purpose).
 */
export async function extensionHostLogEntries(pattern: RegExp): Promise<string[]> {
  const folder = process.env.DRIFTLENS_TEST_VSCODE_LOGS;
  assert.ok(folder, 'the launcher names VS Code\'s log folder in DRIFTLENS_TEST_VSCODE_LOGS');
  const marker = `dl-marker-${Date.now()}`;
  const emitter = new vscode.EventEmitter<vscode.Uri>();
  const registration = vscode.workspace.registerTextDocumentContentProvider(marker, { onDidChange: emitter.event, provideTextDocumentContent: () => '' });
  const hostLogs = () => (readdirSync(folder, { recursive: true }) as string[]).filter((f) => /exthost\.log$/.test(f)).map((f) => readFileSync(path.join(folder, f), 'utf8'));
  const watcher = watch(folder, { recursive: true });
  const written = new vscode.EventEmitter<void>();
  watcher.on('change', () => written.fire());
  try {
    emitter.fire(vscode.Uri.from({ scheme: `${marker}-elsewhere`, path: '/x' }));
    const text = await waitFor(`VS Code's extension host log (in ${folder}) to show the marker ${marker}`, () => hostLogs().find((t) => t.includes(marker)), [written.event]);
    return text
      .split(/\n(?=\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+ \[)/)
      .filter((entry) => pattern.test(entry) && !entry.includes(marker));
  } finally {
    watcher.close();
    written.dispose();
    registration.dispose();
    emitter.dispose();
  }
}
