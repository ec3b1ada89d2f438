import * as vscode from 'vscode';
import { displayText } from '../core/displayText';
import { restampEnvelope } from '../core/envelopeStamp';
import { cannotReadMessage, conflictSentence, decidePublish, natsUnreachableMessage, notificationFailedSentence, publisherIdentity, publishFailedMessage, publishMeta, publishTargetProblem, type LiveRevision, type PublishSource } from '../core/publishFlow';
import { changeSetSummary, unacceptedRisks, type ChangeSet } from '../core/changeSet';
import { describePlan, type PublishPlan } from '../core/publishPlan';
import { RevisionConflictError } from '../live/configStore';
import type { ConfigEnvelope } from '../live/envelope';
import { LiveDocumentError, unusableLiveDocumentMessage } from '../live/envelope';
import { NotificationUnavailableError, publishDocument, type PublishOutcome } from '../live/publisher';
import { configTarget, type ConfigTarget } from './configTarget';
import type { DriftDocuments } from './driftDocuments';
import type { LiveConnection } from './liveConnection';
import { PolicyProblem } from './liveSettings';
import { settingsOrShowProblem } from './policyProblems';
import type { ComponentLog } from './log';
import { openCompareWithLive } from './compareWithLive';
import type { LiveDocumentsProvider } from './liveDocuments';
import { changeSetTitle, targetChangeSet, type ChangeSetDocuments } from './changeSetDocument';

/** What a publish ended in; returned by the command so tests (and other commands) can follow it. */
export type PublishResult =
  | { status: 'published'; revision: number; notified: boolean; traceId?: string }
  | { status: 'conflict'; liveRevision: number; basedOn: number }
  | { status: 'cancelled' | 'refused' | 'unchanged' | 'failed'; reason: string };

export interface PublishOptions {
  /** Skip the confirmation (the in-host tests; a person always sees the preview). */
  assumeYes?: boolean;
  /**
   * With assumeYes: the risk codes accepted, as the CLI's --accept-risk; a risk not named refuses
   * the publish. Undefined accepts every risk (tests about other things than risks).
   */
  acceptRisks?: string[];
  /** Publish over this live revision (the "re-base" after a conflict). */
  expectRevision?: number;
  /** 'report': return a conflict instead of asking what to do (the in-host tests). */
  onConflict?: 'ask' | 'report';
}

/** How many risks the dialog names; the rest are in the change set document, one click away. */
const TOP_RISKS = 3;

function previewDetail(plan: PublishPlan, live: ConfigEnvelope | undefined, section: string | undefined, changes: ChangeSet): string {
  const base = live ? `Live: revision ${live.revision}, updated ${live.updatedAt}${live.meta?.published_by ? ` by ${displayText(live.meta.published_by)}` : ''}.` : 'The key does not exist yet.';
  const scope = section ? `\nFrom a ${section} section file: only the live document's ${section} section is replaced.` : '';
  const risks = changes.risks.slice(0, TOP_RISKS).map((r) => `⚠ ${r.code}: ${r.message}`);
  if (changes.risks.length > TOP_RISKS) risks.push(`…and ${changes.risks.length - TOP_RISKS} more (Show Change Set).`);
  return [`${base}\nThis publish creates revision ${plan.newRevision}.${scope}`, '', `${changeSetSummary(changes)}.`, ...risks, '', ...describePlan(plan, 'sentences')].join('\n');
}

/** The second confirmation a risky change needs: every risk, and a button that says what it does. */
async function confirmRisks(changes: ChangeSet): Promise<boolean> {
  const n = changes.risks.length;
  const choice = await vscode.window.showWarningMessage(
    `This change has ${n} risk${n === 1 ? '' : 's'}. Publish it anyway?`,
    { modal: true, detail: changes.risks.map((r) => `⚠ ${r.code}: ${r.message}`).join('\n') },
    'Publish Despite Risks',
  );
  return choice === 'Publish Despite Risks';
}

function sourceOf(target: ConfigTarget): PublishSource {
  return target.section ? { kind: 'section', section: target.section, value: target.data } : { kind: 'document', data: target.data, fileRevision: target.localRevision };
}

/**
 * `onPublished` runs after a successful write (the Verify stage starts there); it is not awaited:
 * the command returns the publish result at once, the verification reports in the Replicas view.
 */
export function registerPublishCommand(
  documents: DriftDocuments,
  connection: LiveConnection,
  liveDocs: LiveDocumentsProvider,
  changeSets: ChangeSetDocuments,
  log: ComponentLog,
  onPublished?: (key: string, envelope: ConfigEnvelope) => void): vscode.Disposable {
  const publish = async (uri?: vscode.Uri, options: PublishOptions = {}): Promise<PublishResult> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showWarningMessage('DriftLens publishes only from a trusted workspace.');
      return { status: 'refused', reason: 'untrusted workspace' };
    }
    const settings = await settingsOrShowProblem(connection);
    if (settings instanceof PolicyProblem) return { status: 'refused', reason: settings.message };
    const target = await configTarget(documents, uri, settings);
    if (typeof target === 'string') {
      void vscode.window.showWarningMessage(`DriftLens: ${target}`);
      return { status: 'refused', reason: target };
    }
    const errors = target.entry.analysis.problems.filter((p) => p.severity === 'error');
    if (errors.length > 0) {
      // First in the document, whichever check found it.
      const first = errors.reduce((a, b) => (b.span.start < a.span.start ? b : a));
      const at = target.document.positionAt(first.span.start);
      // Not awaited: the command returns at once, the message stays until dismissed.
      void vscode.window
        .showErrorMessage(`Cannot publish ${vscode.workspace.asRelativePath(target.document.uri)}: ${errors.length} error${errors.length === 1 ? '' : 's'}, first at line ${at.line + 1}: ${first.message}`, 'Show Problems')
        .then((choice) => choice === 'Show Problems' && vscode.commands.executeCommand('workbench.actions.view.problems'));
      return { status: 'refused', reason: `${errors.length} error(s)` };
    }
    return runPublish(target, options);
  };

  const failed = (message: string): PublishResult => {
    log.error(message);
    void vscode.window.showErrorMessage(message, 'Show Log').then((c) => c && vscode.commands.executeCommand('driftlens.showLog'));
    return { status: 'failed', reason: message };
  };

  const runPublish = async (target: ConfigTarget, options: PublishOptions): Promise<PublishResult> => {
    const settings = await connection.settings();
    const problem = publishTargetProblem({ key: target.key, subject: settings.policy.subject });
    if (problem) return failed(`Cannot publish: ${problem}. Nothing was written.`);
    // Both connections first: NATS refusing or unreachable stops the publish before the write, and
    // the notification then leaves right after the write instead of after a dial.
    const natsReady = connection.nats();
    natsReady.catch(() => undefined); // awaited below, after Redis
    let store;
    let live: ConfigEnvelope | undefined;
    try {
      store = await connection.store();
      live = (await store.read(target.key))?.envelope;
    } catch (e) {
      return failed(e instanceof LiveDocumentError ? `${unusableLiveDocumentMessage(e, target.key)}.` : cannotReadMessage(target.key, e));
    }
    let nats;
    try {
      nats = await natsReady;
    } catch (e) {
      return failed(natsUnreachableMessage(e instanceof Error ? e.message : String(e)));
    }
    const decision = decidePublish(target.key, sourceOf(target), live, { sections: settings.policy.sections, expectRevision: options.expectRevision });
    if (decision.action === 'no-live-document') {
      void vscode.window.showWarningMessage(decision.message);
      return { status: 'refused', reason: decision.message };
    }
    if (decision.action === 'conflict') return conflict(target, live, decision.basedOn, options);
    if (decision.action === 'unchanged') {
      void vscode.window.showInformationMessage(`${decision.message.charAt(0).toUpperCase()}${decision.message.slice(1)}.`);
      return { status: 'unchanged', reason: 'identical' };
    }
    const { plan } = decision;
    const changes = targetChangeSet(target, live, settings.policy.sections);
    if (!options.assumeYes) {
      for (;;) {
        const question = `Publish ${target.key} revision ${plan.newRevision}?`;
        const detail = previewDetail(plan, live, target.section, changes);
        const buttons = ['Publish', 'Show Change Set', 'Show Diff'];
        // A risky change asks as a warning; the risks themselves need a second, explicit yes.
        const choice = await (changes.risks.length > 0 ? vscode.window.showWarningMessage(question, { modal: true, detail }, ...buttons) : vscode.window.showInformationMessage(question, { modal: true, detail }, ...buttons));
        if (choice === 'Show Change Set') {
          await changeSets.show(target.document.uri, changes, changeSetTitle(target, live));
          continue;
        }
        if (choice === 'Show Diff') {
          await openCompareWithLive(liveDocs, target.document.uri, target.key, live?.revision, target.section);
          continue;
        }
        if (choice !== 'Publish') return { status: 'cancelled', reason: 'not confirmed' };
        break;
      }
      if (changes.risks.length > 0 && !(await confirmRisks(changes))) return { status: 'cancelled', reason: `risks not accepted: ${unacceptedRisks(changes, []).join(', ')}` };
    } else if (options.acceptRisks) {
      const open = unacceptedRisks(changes, options.acceptRisks);
      if (open.length > 0) return { status: 'refused', reason: `risks not accepted: ${open.join(', ')}` };
    }
    const identity = publisherIdentity('vscode');
    let outcome: PublishOutcome;
    try {
      outcome = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Publishing ${target.key} revision ${plan.newRevision}…` }, () =>
        publishDocument(store, nats, { key: target.key, data: decision.data, expectedRevision: plan.expectedRevision, meta: publishMeta(identity), subject: settings.policy.subject, senderId: identity.senderId }),
      );
    } catch (e) {
      if (e instanceof RevisionConflictError) return conflict(target, e.current, plan.expectedRevision, options);
      if (e instanceof NotificationUnavailableError) return failed(`${e.message}.`);
      return failed(publishFailedMessage(e));
    }
    log.info(`published ${target.key} revision ${outcome.envelope.revision}${outcome.notified ? `, notified ${settings.policy.subject} (trace ${outcome.traceId})` : `; notification failed: ${outcome.notifyError}`}`);
    await restamp(target, outcome.envelope);
    liveDocs.refreshLive(target.key);
    onPublished?.(target.key, outcome.envelope);
    if (outcome.notified) {
      void vscode.window.showInformationMessage(`Published ${target.key} revision ${outcome.envelope.revision}; replicas notified on ${settings.policy.subject}.`);
      return { status: 'published', revision: outcome.envelope.revision, notified: true, traceId: outcome.traceId };
    }
    void vscode.window.showWarningMessage(`Published ${target.key} revision ${outcome.envelope.revision}, but ${notificationFailedSentence(settings.policy.subject, outcome.notifyError, settings.policy)}`);
    return { status: 'published', revision: outcome.envelope.revision, notified: false };
  };

  /** The live revision is not the one this publish is based on: say who and when, offer the diff and a re-based publish. */
  const conflict = async (target: ConfigTarget, current: Omit<LiveRevision, 'data'> | undefined, basedOn: number, options: PublishOptions): Promise<PublishResult> => {
    // A missing document is revision 0: re-basing on it creates the document.
    const liveRevision = current?.revision ?? 0;
    log.warn(`revision conflict on ${target.key}: live revision ${liveRevision}, based on ${basedOn}`);
    if (options.onConflict === 'report') return { status: 'conflict', liveRevision, basedOn };
    const choice = await vscode.window.showWarningMessage(`Revision conflict: ${conflictSentence(target.key, current, basedOn)}`, 'Compare with Live', current ? 'Re-base and Publish…' : 'Create It…');
    if (choice === 'Compare with Live') await openCompareWithLive(liveDocs, target.document.uri, target.key, liveRevision, target.section);
    if (choice === 'Re-base and Publish…' || choice === 'Create It…') return runPublish(target, { expectRevision: liveRevision });
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
