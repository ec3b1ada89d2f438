import * as vscode from 'vscode';
import { classifyDocument, matchablePath, type DocumentKind } from '../core/classify';

/** classifyDocument reads no further than this. */
const CLASSIFY_HEAD_CHARS = 2048;

/**
 * What an open document is to DriftLens, or undefined for any other file. Cheap on purpose: the
 * activation shell (activation.ts) asks it of every document opened in the window to decide whether
 * to load the features at all, and DriftDocuments asks it before each analysis.
 */
export function documentKind(document: vscode.TextDocument): DocumentKind | undefined {
  if (document.uri.scheme !== 'file' && document.uri.scheme !== 'untitled') return undefined;
  if (document.languageId !== 'yaml' && document.languageId !== 'json' && document.languageId !== 'jsonc') return undefined;
  const associations = vscode.workspace.getConfiguration('driftlens').get<Record<string, string>>('files.associations') ?? {};
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const path = folder ? vscode.workspace.asRelativePath(document.uri, false) : matchablePath(document.uri.path);
  // Only the head decides (a modeline, the drift_control key): a one-line 40 MB file is not copied to find out.
  return classifyDocument(path, document.getText(new vscode.Range(new vscode.Position(0, 0), document.positionAt(CLASSIFY_HEAD_CHARS))), associations);
}
