import * as vscode from 'vscode';
import { fixesFor, topicFormConversion, type Fix } from '../core/quickFixes';
import type { DriftDocuments } from './driftDocuments';
import { isTopicsKey, placeAt, sectionRelative } from './editorPlace';
import { toRange } from './ranges';

/**
 * Quick fixes for DriftLens diagnostics (did-you-mean, Go durations, removing a key replicas
 * ignore, defining a missing pool) and one refactor: writing a topic's route as "p" or ["p"].
 * The edits come from the core (quickFixes.ts); each diagnostic is matched to the problem it was
 * made from, whose `data` carries what the fix needs. Only an analysis of the current version
 * is used: offsets of an older one would edit the wrong text.
 */
export class DriftCodeActionProvider implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix, vscode.CodeActionKind.RefactorRewrite];

  constructor(private readonly documents: DriftDocuments) {}

  provideCodeActions(document: vscode.TextDocument, range: vscode.Range | vscode.Selection, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const entry = this.documents.peek(document);
    // A large document's analysis comes from the worker, with no spans to write a fix from, and its
    // text is not copied on the host: VS Code asks for code actions at every cursor move, and one
    // getText() of 8 MB blocks the extension host for over 100 ms (BENCHMARKS.md, typing).
    if (!entry || entry.version !== document.version || entry.offThread) return [];
    const actions: vscode.CodeAction[] = [];
    const ours = context.diagnostics.filter((d) => d.source === 'DriftLens');
    let text: string | undefined;
    const textOf = () => (text ??= document.getText());
    for (const diagnostic of ours) {
      const problem = entry.analysis.problems.find((p) => p.code === diagnostic.code && toRange(document, p.span).isEqual(diagnostic.range));
      if (!problem) continue;
      for (const fix of fixesFor(problem, textOf(), entry.analysis.parsed?.located)) {
        const action = this.action(document, fix, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [diagnostic];
        actions.push(action);
      }
    }
    const refactor = this.topicForm(document, range.start, textOf);
    if (refactor) actions.push(refactor);
    return actions;
  }

  private topicForm(document: vscode.TextDocument, position: vscode.Position, textOf: () => string): vscode.CodeAction | undefined {
    const place = placeAt(this.documents, document, position);
    const relative = place && sectionRelative(place);
    const located = place?.entry.analysis.parsed?.located;
    if (!place || !relative || !located || !isTopicsKey(relative[0]) || relative.length < 2 || place.context.position !== 'value') return undefined;
    const topicPath = place.context.path.slice(0, place.context.path.length - relative.length + 2);
    const fix = topicFormConversion(textOf(), located, topicPath);
    return fix ? this.action(document, fix, vscode.CodeActionKind.RefactorRewrite) : undefined;
  }

  private action(document: vscode.TextDocument, fix: Fix, kind: vscode.CodeActionKind): vscode.CodeAction {
    const action = new vscode.CodeAction(fix.title, kind);
    action.edit = new vscode.WorkspaceEdit();
    for (const e of fix.edits) action.edit.replace(document.uri, toRange(document, e.span), e.text);
    action.isPreferred = fix.preferred;
    return action;
  }
}
