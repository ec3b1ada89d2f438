import * as vscode from 'vscode';
import { iconLabelText } from '../core/displayText';
import { natsUnreachableMessage, notificationFailedSentence, publisherIdentity, publishMeta } from '../core/publishFlow';
import { describePlan, planPublish } from '../core/publishPlan';
import { RevisionConflictError } from '../live/configStore';
import { rollbackDocument } from '../live/publisher';
import { VerificationStore, type VerificationRecord } from '../live/verificationStore';
import type { LiveConnection } from './liveConnection';
import type { LiveDocumentsProvider } from './liveDocuments';
import type { ComponentLog } from './log';

/** Picks a revision from DriftLens' history and publishes its data again as a new revision. */
export function registerRollbackCommand(connection: LiveConnection, liveDocs: LiveDocumentsProvider, log: ComponentLog): vscode.Disposable {
  return vscode.commands.registerCommand('driftlens.rollback', async (options?: { key?: string; revision?: number; assumeYes?: boolean }) => {
    const settings = await connection.settings();
    const key = options?.key ?? settings.configKeyOverride ?? settings.policy.configKey;
    try {
      // NATS too, before anything is written: see publisher.ts.
      const [store, nats] = await Promise.all([connection.store(), connection.nats().catch((e: unknown) => Promise.reject(new Error(natsUnreachableMessage(e instanceof Error ? e.message : String(e)))))]);
      const [history, live] = await Promise.all([store.history(key), store.read(key)]);
      if (history.length === 0) {
        void vscode.window.showInformationMessage(`No history for ${key}: DriftLens records revisions when it publishes (driftlens.history.limit).`);
        return undefined;
      }
      const current = live?.envelope;
      let revision = options?.revision;
      if (revision === undefined) {
        // Each revision's verdict, so a person picks one that passed; unreadable verdicts just go unshown.
        const verdicts = await new VerificationStore(await connection.redis()).readMany(key, history.map((e) => e.revision)).catch(() => new Map<number, VerificationRecord>());
        const verdict = (r: number) => {
          const v = verdicts.get(r);
          return v ? ` · verify ${v.state}` : '';
        };
        const picked = await vscode.window.showQuickPick(
          history.map((e) => {
            const hashes = planPublish(key, e.data, undefined, settings.policy.sections).sections.map((s) => `${s.name} ${s.localHash?.slice(0, 8) ?? '—'}`).join('  ');
            return { label: `revision ${e.revision}${e.revision === current?.revision ? ' (live)' : ''}${verdict(e.revision)}`, description: `${e.updatedAt}${e.meta?.published_by ? ` by ${iconLabelText(e.meta.published_by)}` : ''}`, detail: hashes, revision: e.revision };
          }),
          { title: `Roll ${key} back to…`, matchOnDescription: true },
        );
        if (!picked) return undefined;
        revision = picked.revision;
      }
      const target = history.find((e) => e.revision === revision);
      if (!target) throw new Error(`revision ${revision} is not in the history of ${key}`);
      const plan = planPublish(key, target.data, current, settings.policy.sections);
      if (!options?.assumeYes) {
        const ok = await vscode.window.showWarningMessage(`Roll ${key} back to the data of revision ${revision}?`, { modal: true, detail: [`It is published as revision ${plan.newRevision}.`, '', ...describePlan(plan, 'sentences')].join('\n') }, 'Roll Back');
        if (ok !== 'Roll Back') return undefined;
      }
      const identity = publisherIdentity('vscode');
      const meta = publishMeta(identity, { rollback_of: String(revision) });
      const outcome = await rollbackDocument(store, nats, { key, revision, expectedRevision: plan.expectedRevision, meta, subject: settings.policy.subject, senderId: identity.senderId });
      const { envelope } = outcome;
      liveDocs.refreshLive(key);
      log.info(`rolled ${key} back to revision ${revision} as revision ${envelope.revision}`);
      const done = `Rolled ${key} back to revision ${revision}: now revision ${envelope.revision}`;
      if (outcome.notified) void vscode.window.showInformationMessage(`${done}; replicas notified.`);
      else void vscode.window.showWarningMessage(`${done}, but ${notificationFailedSentence(settings.policy.subject, outcome.notifyError, settings.policy)}`);
      return envelope.revision;
    } catch (e) {
      const message = e instanceof RevisionConflictError ? `${key} changed while rolling back; nothing was written. Try again.` : `Rollback failed: ${e instanceof Error ? e.message : String(e)}`;
      log.error(message);
      void vscode.window.showErrorMessage(message);
      return undefined;
    }
  });
}
