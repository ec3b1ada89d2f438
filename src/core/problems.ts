/** A half-open range of UTF-16 offsets into the document text (what VS Code and `yaml` count). */
export interface Span {
  start: number;
  end: number;
}

export type Severity = 'error' | 'warning' | 'info';

/** One thing wrong with a document, at the place a person fixes it. */
export interface Problem {
  span: Span;
  severity: Severity;
  message: string;
  /** A stable identifier: the JSON-Schema keyword (`required`, `type`, ...) or a DriftLens code (`yaml-syntax`, `duplicate-key`, ...). */
  code: string;
  /** What a quick fix needs, known where the problem is found (allowed values, the pool to define, ...). */
  data?: ProblemData;
}

/** The facts behind a problem that a fix reuses instead of finding them again. */
export interface ProblemData {
  /** The values the schema allows here (an enum): did-you-mean picks the nearest. */
  allowed?: readonly unknown[];
  /** The keys this mapping takes (an unknown key): did-you-mean picks the nearest. */
  allowedKeys?: readonly string[];
  /** The key the problem is about (unknown, ignored by replicas). */
  key?: string;
  /** The value is meant to be a Go duration, or a bound such as "<= 5s". */
  format?: 'duration' | 'bound';
  /** A pool name a topic routes to. */
  pool?: string;
  /** Where the section holding the problem is (pools cross-references): the path of its `pools` mapping's parent. */
  sectionPath?: readonly (string | number)[];
}

export function problem(span: Span, message: string, code: string, severity: Severity = 'error', data?: ProblemData): Problem {
  return data ? { span, severity, message, code, data } : { span, severity, message, code };
}

/**
 * Appends every problem to `target`. Not `target.push(...more)`: a spread passes each element as an
 * argument on the stack, and a generated document with 130,000 unused pools overflowed it.
 */
export function appendProblems(target: Problem[], more: Iterable<Problem>): void {
  for (const p of more) target.push(p);
}

/**
 * How many problems one file shows, as VS Code shows an extension's diagnostics: at most 1000 per
 * file (its own cap), errors first. Beyond that a list helps nobody (a generated file with 900,000
 * duplicate keys printed 130 MB), and the editor would spend its time on ranges no one reads.
 */
export const MAX_PROBLEMS_PER_FILE = 1000;

/** "1 note", "149,002 notes": a count as the problem summaries write it. */
export function countOf(n: number, what: string): string {
  return `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`;
}

const SEVERITY_ORDER: readonly Severity[] = ['error', 'warning', 'info'];

/**
 * The problems to show for one file, in document order: all of them when they fit, otherwise
 * errors before warnings before infos up to one less than the cap, leaving the last place to the
 * line that counts the rest ({@link hiddenProblemsNote}).
 */
export function problemsToShow(problems: readonly Problem[]): { shown: Problem[]; hidden: Problem[] } {
  const byPosition = [...problems].sort((a, b) => a.span.start - b.span.start);
  if (byPosition.length <= MAX_PROBLEMS_PER_FILE) return { shown: byPosition, hidden: [] };
  const shown = new Set<Problem>();
  for (const severity of SEVERITY_ORDER) {
    for (const p of byPosition) {
      if (shown.size === MAX_PROBLEMS_PER_FILE - 1) break;
      if (p.severity === severity) shown.add(p);
    }
  }
  return { shown: byPosition.filter((p) => shown.has(p)), hidden: byPosition.filter((p) => !shown.has(p)) };
}

/** "… and 899,001 more problems not shown (899,001 errors)". */
export function hiddenProblemsNote(hidden: readonly Problem[]): string {
  const bySeverity = SEVERITY_ORDER.map((severity) => [severity, hidden.filter((p) => p.severity === severity).length] as const)
    .filter(([, n]) => n > 0)
    .map(([severity, n]) => countOf(n, severity === 'info' ? 'note' : severity));
  return `… and ${countOf(hidden.length, 'more problem')} not shown (${bySeverity.join(', ')}); DriftLens shows up to ${MAX_PROBLEMS_PER_FILE.toLocaleString('en-US')} per file, errors first.`;
}
