import * as vscode from 'vscode';
import { DriftCodeActionProvider } from './codeActions';
import { COMPLETION_TRIGGERS, DriftCompletionProvider } from './completionProvider';
import type { DriftDocuments } from './driftDocuments';
import { DriftHoverProvider } from './hoverProvider';
import type { ReplicaModel } from './replicaModel';

/**
 * Completion, hover and quick fixes of our own (no YAML extension needed). Completion and hover
 * read YAML text around the cursor, so they serve YAML files; quick fixes serve JSON too. Each
 * provider answers only for DriftLens documents (DriftDocuments decides per file).
 */
export function registerIntelligence(documents: DriftDocuments, replicas: ReplicaModel): vscode.Disposable {
  const yaml: vscode.DocumentSelector = [
    { language: 'yaml', scheme: 'file' },
    { language: 'yaml', scheme: 'untitled' },
  ];
  const all: vscode.DocumentSelector = ['yaml', 'json', 'jsonc'].flatMap((language) => [
    { language, scheme: 'file' },
    { language, scheme: 'untitled' },
  ]);
  return vscode.Disposable.from(
    vscode.languages.registerCompletionItemProvider(yaml, new DriftCompletionProvider(documents), ...COMPLETION_TRIGGERS),
    vscode.languages.registerHoverProvider(yaml, new DriftHoverProvider(documents, replicas)),
    vscode.languages.registerCodeActionsProvider(all, new DriftCodeActionProvider(documents), { providedCodeActionKinds: DriftCodeActionProvider.kinds }),
  );
}
