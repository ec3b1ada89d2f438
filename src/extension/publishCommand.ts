import { hostname, userInfo } from 'node:os';
import * as vscode from 'vscode';
import { displayText } from '../core/displayText';
import { formatDuration } from '../core/duration';
import { restampEnvelope } from '../core/envelopeStamp';
import { describePlan, planPublish, type PublishPlan } from '../core/publishPlan';
import { RevisionConflictError } from '../live/configStore';
import type { ConfigEnvelope } from '../live/envelope';
import { LiveDocumentError } from '../live/envelope';
import { publishDocument, type PublishOutcome } from '../live/publisher';
import { configTarget, type ConfigTarget } from './configTarget';
import type { DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';
import type { ComponentLog } from './log';
import { openCompareWithLive } from './compareWithLive';
import type { LiveDocumentsProvider } from './liveDocuments';

/** What a publish ended in; returned by the command so tests (and other commands) can follow it. */
export type PublishResult =
  | { status: 'published'; revision: number; notified: boolean; traceId?: string }
  | { status: 'conflict'; liveRevision: number; basedOn: number }
  | { status: 'cancelled' | 'refused' | 'unchanged' | 'failed'; reason: string };

export interface PublishOptions {
  /** Skip the confirmation (the in-host tests; a person always sees the preview). */
  assumeYes?: boolean;
  /** Publish over this live revision (the "re-base" after a conflict). */
  expectRevision?: number;
  /** 'report': return a conflict instead of asking what to do (the in-host tests). */
  onConflict?: 'ask' | 'report';
}

function publisher(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}

function previewDetail(plan: PublishPlan, live: ConfigEnvelope | undefined): string {
  const base = live ? `Live: revision ${live.revision}, updated ${live.updatedAt}${live.meta?.published_by ? ` by ${displayText(live.meta.published_by)}` : ''}.` : 'The key does not exist yet.';
  return [`${base}\nThis publish creates revision ${plan.newRevision}.`, '', ...describePlan(plan, 'sentences')].join('\n');
}

export function registerPublishCommand(documents: DriftDocuments, connection: LiveConnection, liveDocs: LiveDocumentsProvider, log: ComponentLog): vscode.Disposable {
  const publish = async (uri?: vscode.Uri, options: PublishOptions = {}): Promise<PublishResult> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('DriftLens publishes only from a trusted workspace.');
      return { status: 'refused', reason: 'untrusted workspace' };
    }
    const settings = await connection.settings();
    const target = await configTarget(documents, uri, settings);
    if (typeof target === 'string') {
      void vscode.window.showWarningMessage(`DriftLens: ${target}`);
      return { status: 'refused', reason: target };
    }
    const errors = target.entry.analysis.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) {
      const first = errors[0];
      const at = target.document.positionAt(first.span.start);
      // Not awaited: the command returns at once, the message stays until dismissed.
      void vscode.window
        .showErrorMessage(`Cannot publish ${vscode.workspace.asRelativePath(target.document.uri)}: ${errors.length} error${errors.length === 1 ? '' : 's'}, first at line ${at.line + 1}: ${first.message}`, 'Show Problems')
        .then((choice) => choice === 'Show Problems' && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return { status: 'refused', reason: `${errors.length} error(s)` };
    }
    return runPublish(target, options);
  };

  const runPublish = async (target: ConfigTarget, options: PublishOptions): Promise<PublishResult> => {
    const settings = await connection.settings();
    let store;
    let live: ConfigEnvelope | undefined;
    try {
      store = await connection.store();
      live = (await store.read(target.key))?.envelope;
    } catch (e) {
      const message = e instanceof LiveDocumentError ? `The live document at ${target.key} is unreadable (${e.message}). DriftLens will not overwrite it; inspect it with redis-cli GET ${target.key}.` : `Cannot read ${target.key}: ${e instanceof Error ? e.message : String(e)}`;
      log.error(message);
      void vscode.window.showErrorMessage(message, 'Show Log').then((c) => c && vscode.commands.executeCommand('driftlens.showLog'));
      return { status: 'failed', reason: message };
    }
    const expected = options.expectRevision ?? target.localRevision ?? live?.revision ?? 0;
    const plan = planPublish(target.key, target.data, live, settings.policy.sections, expected);
    if (live && plan.identical && live.revision === expected) {
      void vscode.window.showInformationMessage(`Nothing to publish: ${target.key} revision ${live.revision} already holds this data.`);
      return { status: 'unchanged', reason: 'identical' };
    }
    if (!options.assumeYes) {
      for (;;) {
        const choice = await vscode.window.showInformationMessage(`Publish ${target.key} revision ${plan.newRevision}?`, { modal: true, detail: previewDetail(plan, live) }, 'Publish', 'Show Diff');
        if (choice === 'Show Diff') {
          await openCompareWithLive(liveDocs, target.document.uri, target.key, live?.revision);
          continue;
        }
        if (choice !== 'Publish') return { status: 'cancelled', reason: 'not confirmed' };
        break;
      }
    }
    let outcome: PublishOutcome;
    try {
      outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Publishing ${target.key} revision ${plan.newRevision}…` }, () =>
        publishDocument(store, () => connection.nats(), {
          key: target.key,
          data: target.data,
          expectedRevision: expected,
          meta: { published_by: publisher(), tool: 'driftlens' },
          subject: settings.policy.subject,
          senderId: `driftlens-vscode@${hostname()}`,
        }),
      );
    } catch (e) {
      if (e instanceof RevisionConflictError) return conflict(target, e, expected, options);
      const message = `Publish failed, nothing was written: ${e instanceof Error ? e.message : String(e)}`;
      log.error(message);
      void vscode.window.showErrorMessage(message);
      return { status: 'failed', reason: message };
    }
    log.info(`published ${target.key} revision ${outcome.envelope.revision}${outcome.notified ? `, notified ${settings.policy.subject} (trace ${outcome.traceId})` : `; notification failed: ${outcome.notifyError}`}`);
    await restamp(target, outcome.envelope);
    liveDocs.refreshLive(target.key);
    if (outcome.notified) {
      void vscode.window.showInformationMessage(`Published ${target.key} revision ${outcome.envelope.revision}; replicas notified on ${settings.policy.subject}.`);
      return { status: 'published', revision: outcome.envelope.revision, notified: true, traceId: outcome.traceId };
    }
    const bound = settings.policy.slo.notificationLost;
    void vscode.window.showWarningMessage(
      `Published ${target.key} revision ${outcome.envelope.revision}, but the change notification failed (${outcome.notifyError}). The write stands: replicas pick it up on their next poll, within ${formatDuration(settings.policy.pollIntervalMs)} (policy: notification_lost ${bound.inclusive ? '<=' : '<'} ${formatDuration(bound.ms)}).`,
    );
    return { status: 'published', revision: outcome.envelope.revision, notified: false };
  };

  /** Someone published first: say who and when, offer the diff and a re-based publish. */
  const conflict = async (target: ConfigTarget, e: RevisionConflictError, basedOn: number, options: PublishOptions): Promise<PublishResult> => {
    const current = e.current;
    // A missing document is revision 0: it was deleted since this file's revision was read.
    const liveRevision = current?.revision ?? 0;
    const who = current?.meta?.published_by ? ` by ${displayText(current.meta.published_by)}` : '';
    log.warn(`revision conflict on ${target.key}: live revision ${liveRevision}, based on ${basedOn}`);
    if (options.onConflict === 'report') return { status: 'conflict', liveRevision, basedOn };
    const what = current ? `revision ${liveRevision} was published at ${current.updatedAt}${who}` : 'the document was deleted from Redis';
    const choice = await vscode.window.showWarningMessage(
      `${target.key} changed since revision ${basedOn}: ${what}. Nothing was written.`,
      'Compare with Live',
      'Re-base and Publish…',
    );
    if (choice === 'Compare with Live') await openCompareWithLive(liveDocs, target.document.uri, target.key, liveRevision);
    if (choice === 'Re-base and Publish…') return runPublish(target, { expectRevision: liveRevision });
    return { status: 'conflict', liveRevision, basedOn };
  };

  /** An envelope file carries its new revision, so its next publish is not a conflict with itself. */
  const restamp = async (target: ConfigTarget, envelope: ConfigEnvelope) => {
    const current = documents.get(target.document);
    if (!current) return;
    const text = target.document.getText();
    const restamped = restampEnvelope(text, current.analysis, { revision: envelope.revision, updatedAt: envelope.updatedAt });
    if (restamped === undefined) return;
    const edit = new vscode.WorkspaceEdit();
    edit.replace(target.document.uri, new vscode.Range(target.document.positionAt(0), target.document.positionAt(text.length)), restamped);
    const wasDirty = target.document.isDirty;
    await vscode.workspace.applyEdit(edit);
    if (!wasDirty) await target.document.save();
  };

  return vscode.commands.registerCommand('driftlens.publishConfig', publish);
}
