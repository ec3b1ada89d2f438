import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { JsonValue } from './canonical';
import { LocatedBuilder, LocatedValue } from './documentModel';
import { problem, type Problem, type Span } from './problems';

/**
 * The complete reader: any YAML 1.2 (or JSON) text through the `yaml` package, turned into JSON
 * data with spans. Used when the fast reader meets something outside its subset; it is the one
 * that explains syntax errors.
 */

/** How many nodes alias expansion may add before the document counts as an alias bomb. */
export const MAX_ALIAS_EXPANSION_NODES = 100_000;

export function parseYamlComplete(text: string): { located: LocatedValue; problems: Problem[] } {
  const document = parseDocument(text, {
    uniqueKeys: false, // the builder detects duplicates in linear time (yaml's check is quadratic)
    prettyErrors: false,
    strict: true,
    merge: false,
    version: '1.2',
    schema: 'core',
  });
  const problems: Problem[] = [];
  for (const error of document.errors) {
    problems.push(problem(spanOf(error.pos, text), humanizeYamlMessage(error.message), 'yaml-syntax'));
  }
  for (const warning of document.warnings) {
    problems.push(problem(spanOf(warning.pos, text), humanizeYamlMessage(warning.message), 'yaml-warning', 'warning'));
  }
  const composer = new Composer(document, text);
  const contents = document.contents as YamlNode | null;
  const value = contents ? composer.convert(contents) : null;
  const rootSpan = contents?.range ? { start: contents.range[0], end: contents.range[1] } : { start: 0, end: 0 };
  problems.push(...composer.builder.problems);
  return { located: new LocatedValue(value, rootSpan, composer.builder.locations), problems };
}

function spanOf(pos: [number, number], text: string): Span {
  const start = Math.min(pos[0], text.length);
  return { start, end: Math.max(start, Math.min(pos[1], text.length)) };
}

/** `yaml` appends " at line X, column Y" plus a code excerpt; the editor shows the place already. */
function humanizeYamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+[\s\S]*$/, '').trim();
}

class Composer {
  readonly builder = new LocatedBuilder();
  private expandedNodes = 0;
  private readonly inProgress = new Set<YamlNode>();
  private bombReported = false;

  constructor(
    private readonly document: Document,
    private readonly text: string,
  ) {}

  /** A node's span without the line breaks `yaml` counts into block collections. */
  private span(node: YamlNode | null | undefined, fallback: number): Span {
    const range = node?.range;
    if (!range) return { start: fallback, end: fallback };
    let end = range[1];
    while (end > range[0] && /[ \t\r\n]/.test(this.text[end - 1])) end--;
    return { start: range[0], end };
  }

  convert(node: YamlNode, insideAlias = false): JsonValue {
    if (insideAlias && ++this.expandedNodes > MAX_ALIAS_EXPANSION_NODES) throw new AliasBomb();
    if (isScalar(node)) {
      const value = node.value;
      const span = this.span(node, 0);
      if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
      if (typeof value === 'number') return this.builder.checkNumber(value, span, node.source ?? String(value));
      this.builder.problems.push(problem(span, `A ${typeof value} value cannot be represented in JSON.`, 'json-unsupported-value'));
      return null;
    }
    if (isAlias(node)) {
      const target = node.resolve(this.document);
      const span = this.span(node, 0);
      if (!target) return null; // `yaml` already reported the unresolved alias
      if (this.inProgress.has(target)) {
        this.builder.problems.push(problem(span, `Alias *${node.source} refers to the node that contains it; JSON cannot hold a cycle.`, 'yaml-alias-cycle'));
        return null;
      }
      this.inProgress.add(target);
      try {
        return this.convert(target, true);
      } catch (e) {
        if (!(e instanceof AliasBomb) || insideAlias) throw e;
        if (!this.bombReported) {
          this.bombReported = true;
          this.builder.problems.push(
            problem(span, `Alias *${node.source} expands to more than ${MAX_ALIAS_EXPANSION_NODES} nodes (an alias bomb); DriftLens stops expanding it.`, 'yaml-alias-bomb'),
          );
        }
        return null;
      } finally {
        this.inProgress.delete(target);
      }
    }
    if (isMap(node)) {
      const span = this.span(node, 0);
      const object = this.builder.newObject(span.start);
      this.builder.finish(object, span.end);
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const valueNode = pair.value as YamlNode | null;
        const keySpan = this.span(keyNode, span.start);
        const valueSpan = this.span(valueNode, keySpan.end);
        const value = valueNode ? this.convert(valueNode, insideAlias) : null;
        if (keyNode === null || (isScalar(keyNode) && keyNode.value === null && keyNode.source === '')) {
          this.builder.problems.push(problem(keySpan, 'This entry has no key; JSON object keys must be strings.', 'json-non-string-key'));
        } else if (isScalar(keyNode)) {
          if (typeof keyNode.value === 'string') this.builder.addMember(object, keyNode.value, keySpan.start, keySpan.end, value, valueSpan.start, valueSpan.end);
          else this.builder.nonStringKey(keySpan, keyNode.value);
        } else if (isAlias(keyNode)) {
          const target = keyNode.resolve(this.document);
          if (isScalar(target) && typeof target.value === 'string') this.builder.addMember(object, target.value, keySpan.start, keySpan.end, value, valueSpan.start, valueSpan.end);
          else this.builder.problems.push(problem(keySpan, 'An alias used as a key must name a string.', 'json-non-string-key'));
        } else {
          this.builder.problems.push(problem(keySpan, 'A collection cannot be a key; JSON object keys must be strings.', 'json-non-string-key'));
        }
      }
      return object;
    }
    if (isSeq(node)) {
      const span = this.span(node, 0);
      const array = this.builder.newArray(span.start);
      this.builder.finish(array, span.end);
      for (const item of node.items) {
        const itemNode = item as YamlNode | null;
        const itemSpan = this.span(itemNode, span.start);
        this.builder.addItem(array, itemNode ? this.convert(itemNode, insideAlias) : null, itemSpan.start, itemSpan.end);
      }
      return array;
    }
    return null;
  }
}

class AliasBomb extends Error {}
