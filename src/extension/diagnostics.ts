import * as vscode from 'vscode';
import { hiddenProblemsNote, problemsToShow, type Severity } from '../core/problems';
import type { DriftDocuments } from './driftDocuments';
import { toRange } from './ranges';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/**
 * Publishes each analysis as diagnostics (source "DriftLens", code = schema keyword or DriftLens code),
 * capped per file as VS Code caps them (the CLI lists the same ones), so that a file with 900,000
 * problems does not cost 900,000 ranges; the last entry then counts the rest.
 */
export function registerDiagnostics(documents: DriftDocuments): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('driftlens');
  const byUri = (uri: vscode.Uri) => vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  return vscode.Disposable.from(
    collection,
    documents.onDidAnalyze((entry) => {
      const document = byUri(entry.uri);
      if (!document) return;
      const { shown, hidden } = problemsToShow(entry.analysis.problems);
      const diagnostics = shown.map((p) => {
        const diagnostic = new vscode.Diagnostic(toRange(document, p.span), p.message, SEVERITY[p.severity]);
        diagnostic.source = 'DriftLens';
        diagnostic.code = p.code;
        return diagnostic;
      });
      if (hidden.length > 0) {
        const note = new vscode.Diagnostic(diagnostics[diagnostics.length - 1].range, hiddenProblemsNote(hidden), vscode.DiagnosticSeverity.Information);
        note.source = 'DriftLens';
        note.code = 'more-problems';
        diagnostics.push(note);
      }
      collection.set(entry.uri, diagnostics);
    }),
    documents.onDidForget((uri) => collection.delete(uri)),
  );
}
