import * as vscode from 'vscode';
import { classifyDocument, matchablePath, type DocumentKind } from '../core/classify';

/** classifyDocument reads no further than this: an edit past it cannot change what a document is. */
export const CLASSIFY_HEAD_CHARS = 2048;

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
  return classifyDocument(path, headOf(document), associations);
}

/**
 * The document's first CLASSIFY_HEAD_CHARS characters, line breaks included, exactly: an edit past
 * them cannot change what the document is (activation.ts relies on that). Only the head decides (a
 * modeline, the drift_control key): a one-line 40 MB file is not copied to find out. Read line by
 * line, since positionAt would make the extension host re-add the lengths of every line below the
 * last edit: this runs on every keystroke.
 */
function headOf(document: vscode.TextDocument): string {
  // VS Code gives a document one line break throughout.
  const eol = document.eol === vscode.EndOfLine.CRLF ? '\r\n' : '\n';
  const lines: string[] = [];
  let chars = 0;
  for (let line = 0; line < document.lineCount && chars < CLASSIFY_HEAD_CHARS; line++) {
    const text = document.lineAt(line).text;
    lines.push(text.length > CLASSIFY_HEAD_CHARS ? text.slice(0, CLASSIFY_HEAD_CHARS) : text);
    chars += text.length + eol.length;
  }
  return lines.join(eol).slice(0, CLASSIFY_HEAD_CHARS);
}
