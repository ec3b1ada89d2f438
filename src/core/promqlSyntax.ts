import type { LRParser } from '@lezer/lr';

let promqlParser: LRParser | undefined;

/**
 * The grammar, loaded on first use: the extension loads this module when it activates, and only a
 * drift policy with a `verify` block needs PromQL. The package is an ES module with a CommonJS build
 * (`require` export); TypeScript's Node16 mode would only let a CommonJS file import it dynamically,
 * so the CommonJS build is required directly.
 */
function parser(): LRParser {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  promqlParser ??= (require('@prometheus-io/lezer-promql') as { parser: LRParser }).parser;
  return promqlParser;
}

/**
 * PromQL syntax errors with Prometheus' own grammar (the lezer grammar its web UI uses), so a
 * check's query is refused in the editor, at the character where it goes wrong, instead of at the
 * first measurement. Semantics (unknown functions' arity, types) are left to Prometheus, which
 * answers a bad query with an error measurement naming it.
 */

export interface PromqlSyntaxError {
  /** The characters of the query (UTF-16 offsets) to mark: never empty, so an editor can show it. */
  start: number;
  end: number;
  message: string;
}

const CONTEXT: Record<string, string> = {
  FunctionCallBody: 'the function call',
  LabelMatchers: 'the label matchers { }',
  GroupingLabels: 'the by/without label list',
  BinaryExpr: 'the binary expression',
  ParenExpr: 'the parentheses',
  MatrixSelector: 'the range selector [ ]',
  SubqueryExpr: 'the subquery [ : ]',
  AggregateExpr: 'the aggregation',
  OffsetExpr: 'the offset',
  StepInvariantExpr: 'the @ modifier',
};

/** The first syntax error of a query, or undefined when the grammar accepts it. */
export function promqlSyntaxError(query: string): PromqlSyntaxError | undefined {
  if (query.trim() === '') return { start: 0, end: query.length, message: 'the query is empty' };
  let found: PromqlSyntaxError | undefined;
  parser().parse(query).iterate({
    enter(node) {
      if (found) return false;
      if (!node.type.isError) return undefined;
      const where = CONTEXT[node.node.parent?.name ?? ''];
      const end = query.trimEnd().length;
      if (node.from >= end) {
        // Something is missing at the end: point at the last character written.
        found = { start: end - 1, end, message: `the query ends too early${where ? ` inside ${where}` : ''}` };
        return false;
      }
      // The text the parser skipped, or (when it skipped none) the next character it could not use.
      const start = node.to > node.from ? node.from : node.from + (query.slice(node.from).length - query.slice(node.from).trimStart().length);
      const stop = node.to > node.from ? node.to : start + 1;
      found = { start, end: stop, message: `unexpected ${JSON.stringify(query.slice(start, stop))} at column ${start + 1}${where ? ` in ${where}` : ''}` };
      return false;
    },
  });
  return found;
}
