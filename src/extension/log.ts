import * as vscode from 'vscode';
import { displayText } from '../core/displayText';

/**
 * The one output channel, with component tags. It never reveals itself (that steals focus);
 * "DriftLens: Show Log" opens it. Nothing secret is ever passed here. Every message is one line with
 * its control characters shown as escapes (displayText): messages carry text from Redis and NATS
 * (registry keys, server errors, replica ids), and a newline there would forge a log line.
 */
export class Log implements vscode.Disposable {
  private readonly channel = vscode.window.createOutputChannel('DriftLens', { log: true });

  for(component: string): ComponentLog {
    const channel = this.channel;
    const line = (message: string) => `[${component}] ${displayText(message)}`;
    return {
      trace: (message) => channel.trace(line(message)),
      info: (message) => channel.info(line(message)),
      warn: (message) => channel.warn(line(message)),
      error: (message) => channel.error(line(message)),
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
