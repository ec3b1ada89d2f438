import * as vscode from 'vscode';

/**
 * The one output channel, with component tags. It never reveals itself (that steals focus);
 * "DriftLens: Show Log" opens it. Nothing secret is ever passed here.
 */
export class Log implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('DriftLens', { log: true });

  for(component: string): ComponentLog {
    const channel = this.channel;
    return {
      trace: (message) => channel.trace(`[${component}] ${message}`),
      info: (message) => channel.info(`[${component}] ${message}`),
      warn: (message) => channel.warn(`[${component}] ${message}`),
      error: (message) => channel.error(`[${component}] ${message}`),
    };
  }

  show(): void {
    this.channel.show(true);
  }

  dispose(): void {
    this.channel.dispose();
  }
}

export interface ComponentLog {
  trace(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}
