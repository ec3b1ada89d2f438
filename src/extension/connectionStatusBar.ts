import * as vscode from 'vscode';
import { displayText } from '../core/displayText';
import type { ConnectionState, LinkState, LiveConnection } from './liveConnection';

const ICON: Record<LinkState, string> = {
  idle: '$(circle-outline)',
  connecting: '$(sync~spin)',
  connected: '$(pass-filled)',
  reconnecting: '$(sync~spin)',
  error: '$(error)',
};

/** Connection state at a glance; hidden until DriftLens first connects. Click to reconnect. */
export function registerConnectionStatusBar(connection: LiveConnection): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('driftlens.connection', vscode.StatusBarAlignment.Left, 50);
  item.name = 'DriftLens Connection';
  item.command = 'driftlens.reconnect';
  const render = (state: ConnectionState) => {
    if (state.redis === 'idle' && state.nats === 'idle') {
      item.hide();
      return;
    }
    const worst = [state.redis, state.nats].includes('error') ? 'error' : [state.redis, state.nats].some((s) => s === 'reconnecting' || s === 'connecting') ? 'connecting' : 'connected';
    item.text = `${ICON[worst === 'connecting' ? 'connecting' : worst]} DriftLens`;
    item.backgroundColor = worst === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendMarkdown(`**DriftLens connections**\n\n`);
    tooltip.appendMarkdown(`${ICON[state.redis]} Redis \`${state.redisLabel || '—'}\`: ${state.redis}\n\n`);
    tooltip.appendMarkdown(`${ICON[state.nats]} NATS \`${state.natsLabel || '—'}\`: ${state.nats}\n\n`);
    if (state.policyLabel) tooltip.appendMarkdown(`Drift policy: \`${state.policyLabel}\`\n\n`);
    if (state.policyProblem) tooltip.appendText(`${state.policyProblem}\n\n`);
    if (state.lastError) tooltip.appendText(`Last error: ${displayText(state.lastError)}\n\n`);
    tooltip.appendMarkdown('Click to reconnect.');
    item.tooltip = tooltip;
    item.show();
  };
  render(connection.state);
  return vscode.Disposable.from(
    item,
    connection.onDidChangeState(render),
    vscode.commands.registerCommand('driftlens.reconnect', async () => {
      await connection.reset('asked to reconnect');
      await Promise.allSettled([connection.redis(), connection.nats()]);
    }),
  );
}
