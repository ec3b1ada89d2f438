import * as vscode from 'vscode';
import type { Severity } from '../core/problems';
import type { DriftDocuments } from './driftDocuments';
import { toRange } from './ranges';

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Publishes each analysis as diagnostics (source "DriftLens", code = schema keyword or DriftLens code). */
export function registerDiagnostics(documents: DriftDocuments): vscode.Disposable {
  const collection = vscode.languages.createDiagnosticCollection('driftlens');
  const byUri = (uri: vscode.Uri) => vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
  return vscode.Disposable.from(
    collection,
    documents.onDidAnalyze((entry) => {
      const document = byUri(entry.uri);
      if (!document) return;
      collection.set(
        entry.uri,
        entry.analysis.problems.map((p) => {
          const diagnostic = new vscode.Diagnostic(toRange(document, p.span), p.message, SEVERITY[p.severity]);
          diagnostic.source = 'DriftLens';
          diagnostic.code = p.code;
          return diagnostic;
        }),
      );
    }),
    documents.onDidForget((uri) => collection.delete(uri)),
  );
}
