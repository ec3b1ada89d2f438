import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { documentConfigKey } from '../core/documentKey';
import type { SectionName } from '../core/sectionHash';
import type { DriftDocument, DriftDocuments } from './driftDocuments';
import type { LiveSettings } from './liveSettings';

type DataMap = { [key: string]: JsonValue };

export interface ConfigTarget {
  document: vscode.TextDocument;
  entry: DriftDocument;
  /** The data map of a config document; the section of a section file. */
  data: DataMap;
  /** Set for a bare section file (config/pools.yaml): it is published as that section of the live document. */
  section?: SectionName;
  key: string;
  /** The revision an envelope file was pulled or last published at (the CAS base). */
  localRevision?: number;
}

/**
 * With no text editor active (the walkthrough or a view has focus): the one config document or
 * section file in view, if there is exactly one, so a button beside it acts on what is shown.
 */
function onlyVisibleConfig(documents: DriftDocuments): vscode.TextDocument | undefined {
  const shown = [...new Set(vscode.window.visibleTextEditors.map((e) => e.document))].filter((d) => {
    const kind = documents.kindOf(d);
    return kind !== undefined && kind !== 'policy';
  });
  return shown.length === 1 ? shown[0] : undefined;
}

/** The config document or section file a live command is about: the argument, else the active editor, else the only one in view. */
export async function configTarget(documents: DriftDocuments, uri: vscode.Uri | undefined, settings: LiveSettings): Promise<ConfigTarget | string> {
  const document = uri ? await vscode.workspace.openTextDocument(uri) : (vscode.window.activeTextEditor?.document ?? onlyVisibleConfig(documents));
  if (!document) return 'Open a config document first.';
  const entry = documents.get(document);
  if (!entry || entry.kind === 'policy') return `${vscode.workspace.asRelativePath(document.uri)} is not a config document or section file (see "How files are recognised" in the README).`;
  const analysis = entry.analysis;
  if (analysis.data === undefined || typeof analysis.data !== 'object' || analysis.data === null || Array.isArray(analysis.data)) return `${vscode.workspace.asRelativePath(document.uri)} has no ${entry.kind === 'config' ? 'data map' : `${entry.kind} section`} to publish.`;
  if (entry.kind !== 'config') return { document, entry, data: analysis.data as DataMap, key: settings.configKeyOverride ?? settings.policy.configKey, section: entry.kind };
  const root = analysis.parsed.located.value as DataMap;
  const key = settings.configKeyOverride ?? documentConfigKey(analysis) ?? settings.policy.configKey;
  const localRevision = analysis.isEnvelope && typeof root.revision === 'number' ? root.revision : undefined;
  return { document, entry, data: analysis.data as DataMap, key, localRevision };
}
