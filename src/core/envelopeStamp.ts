import type { DocumentAnalysis } from './analysis';

/**
 * After a publish, a local envelope file must carry the new revision, or its next publish would
 * be refused as a conflict against itself. Only the `revision` and `updated_at` scalars are
 * replaced, in place, so comments and formatting stay as the person wrote them.
 */
export function restampEnvelope(text: string, analysis: DocumentAnalysis, stamp: { revision: number; updatedAt: string }): string | undefined {
  if (!analysis.isEnvelope) return undefined;
  const located = analysis.parsed.located;
  const edits: { start: number; end: number; text: string }[] = [];
  const revision = located.locate(['revision']);
  if (revision.exact) edits.push({ ...revision.value, text: String(stamp.revision) });
  const updated = located.locate(['updated_at']);
  if (updated.exact) edits.push({ ...updated.value, text: JSON.stringify(stamp.updatedAt) });
  if (edits.length === 0) return undefined;
  let out = text;
  for (const edit of edits.sort((a, b) => b.start - a.start)) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}
