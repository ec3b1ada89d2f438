import { Composer as YamlComposer, isAlias, type Pair, isMap, isScalar, isSeq, Lexer, Parser, type CST, type Document, type DocumentOptions, type ParseOptions, type SchemaOptions, type Node as YamlNode } from 'yaml';
import type { JsonValue } from './canonical';
import { LocatedBuilder, LocatedValue, MAX_NESTING_DEPTH, nestingTooDeep } from './documentModel';
import { appendProblems, problem, type Problem, type Span } from './problems';
import { YamlNestingScanner, YamlTooDeep } from './yamlNesting';
import { coreTag, repeatedYamlDirective, tagDirective, tagDoesNotFit, unsupportedTag } from './yamlTags';

/**
 * The complete reader: any YAML 1.2 (or JSON) text through the `yaml` package, turned into JSON
 * data with spans. Used when the fast reader meets something outside its subset; it is the one
 * that explains syntax errors.
 */

/** How many nodes alias expansion may add before the document counts as an alias bomb. */
export const MAX_ALIAS_EXPANSION_NODES = 100_000;

const YAML_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = {
  uniqueKeys: false, // the builder detects duplicates in linear time (yaml's check is quadratic)
  prettyErrors: false,
  strict: true,
  merge: false,
  version: '1.2',
  schema: 'core',
  // YAML 1.1's !!binary, !!timestamp, !!omap, !!set, !!pairs would become values JSON cannot carry
  // (bytes, dates, lists of pairs): unresolved, they are reported at the tag (see tagProblems).
  resolveKnownTags: false,
};

export function parseYamlComplete(text: string): { located: LocatedValue; problems: Problem[] } {
  let read: { document: Document; documents: number; secondDocumentAt?: number; properties: YamlPropertyScanner };
  try {
    read = readFirstDocument(text);
  } catch (e) {
    if (!(e instanceof YamlTooDeep)) throw e;
    return tooDeep(e.offset, text);
  }
  const { document } = read;
  const problems: Problem[] = [];
  if (read.secondDocumentAt !== undefined) {
    const at = read.secondDocumentAt;
    problems.push(
      problem(lineFrom(at, text), `This file has ${read.documents} YAML documents; DriftLens reads exactly one (one config document, section file or drift policy per file).`, 'yaml-multiple-documents'),
    );
  }
  for (const error of document.errors) {
    if (error.code === 'TAG_RESOLVE_FAILED') continue;
    problems.push(problem(spanOf(error.pos, text), humanizeYamlMessage(error.message), 'yaml-syntax'));
  }
  appendProblems(problems, read.properties.problems);
  for (const warning of [...document.errors, ...document.warnings]) {
    if (warning.code !== 'TAG_RESOLVE_FAILED') continue;
    // A core tag on a value that does not fit it (`!!bool yes`); other tags are reported already.
    const span = spanOf(warning.pos, text);
    const source = text.slice(span.start, span.end);
    if (coreTag(source)) problems.push(tagDoesNotFit(span, source));
  }
  for (const warning of document.warnings) {
    if (warning.code === 'TAG_RESOLVE_FAILED') continue;
    problems.push(problem(spanOf(warning.pos, text), humanizeYamlMessage(warning.message), 'yaml-warning', 'warning'));
  }
  const converter = new JsonConverter(document, text);
  const contents = document.contents as YamlNode | null;
  let value: JsonValue;
  try {
    value = contents ? converter.convert(contents) : null;
  } catch (e) {
    if (!(e instanceof TooDeepAt)) throw e;
    // The parser's recovery from a syntax error can leave a tree nested line by line (an unclosed
    // `[` in a long mapping does): the syntax error is the problem to show, not that depth.
    if (problems.some((p) => p.code === 'yaml-syntax')) return { located: new LocatedValue(undefined, { start: 0, end: 0 }, new Map()), problems };
    return tooDeep(e.span.start, text);
  }
  // Without the line breaks and comments after it, as every other span (and the fast reader's root).
  const rootSpan = contents?.range ? converter.extent(contents) : { start: 0, end: 0 };
  const located = converter.builder.located(value, rootSpan);
  appendProblems(problems, converter.builder.problems);
  return { located, problems };
}

/**
 * The `yaml` package's parseDocument, with the nesting depth checked on the lexer's tokens before
 * the parser sees them, and the documents after the first only counted.
 */
function readFirstDocument(text: string): { document: Document; documents: number; secondDocumentAt?: number; properties: YamlPropertyScanner } {
  const composer = new YamlComposer(YAML_OPTIONS);
  const composed: Document[] = [];
  const properties = new YamlPropertyScanner();
  let documents = 0;
  let secondDocumentAt: number | undefined;
  for (const token of scannedTokens(text, properties)) {
    if (token.type === 'document' && ++documents === 2) secondDocumentAt = token.offset;
    if (documents <= 1) for (const document of composer.next(token)) composed.push(document as Document);
  }
  for (const document of composer.end(true, text.length)) composed.push(document as Document);
  return { document: composed[0], documents, secondDocumentAt, properties };
}

function* scannedTokens(text: string, properties: YamlPropertyScanner): Generator<CST.Token> {
  const depth = new YamlNestingScanner();
  const parser = new Parser();
  for (const lexeme of new Lexer().lex(text)) {
    depth.next(lexeme);
    properties.next(lexeme);
    yield* parser.next(lexeme);
  }
  yield* parser.end();
}

/**
 * Finds, in the lexer's tokens, the tags that are not YAML 1.2 core tags, %TAG directives and a
 * repeated %YAML directive in the first document: the composer keeps no place for a tag it
 * resolves, and it reads YAML 1.1 tags (or a repeated directive) without a word.
 */
class YamlPropertyScanner {
  readonly problems: Problem[] = [];
  private offset = 0;
  private scalarNext = false;
  /** 0: directives of the first document, 1: its content, 2: after it. */
  private stage = 0;
  private yamlDirectives = 0;

  next(lexeme: string): void {
    if (lexeme === '\x02' || lexeme === '\x18') {
      if (lexeme === '\x02' && this.stage === 0) this.stage = 1;
      return;
    }
    if (lexeme === '\x1f') {
      this.scalarNext = true;
      return;
    }
    const at = this.offset;
    this.offset += lexeme.length;
    const scalar = this.scalarNext;
    this.scalarNext = false;
    if (scalar || this.stage === 2) return;
    const c = lexeme.charCodeAt(0);
    if (c === 33 /* ! */) {
      if (!coreTag(lexeme)) this.problems.push(unsupportedTag({ start: at, end: at + lexeme.length }, lexeme));
    } else if (c === 37 /* % */) {
      if (this.stage !== 0) return;
      const span = { start: at, end: at + lexeme.length };
      if (/^%TAG\b/.test(lexeme)) this.problems.push(tagDirective(span));
      else if (/^%YAML\b/.test(lexeme) && ++this.yamlDirectives === 2) this.problems.push(repeatedYamlDirective(span));
    } else if (this.stage === 1 && (lexeme === '...' || (lexeme === '---' && this.contentSeen))) {
      this.stage = 2;
    } else if (lexeme !== '---' && c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 35 && c !== 0xfeff) {
      this.contentSeen = true;
    }
  }

  private contentSeen = false;
}

function tooDeep(offset: number, text: string): { located: LocatedValue; problems: Problem[] } {
  return { located: new LocatedValue(undefined, { start: 0, end: 0 }, new Map()), problems: [nestingTooDeep({ start: offset, end: Math.min(offset + 1, text.length) })] };
}

/** From `at` to the end of its line. */
function lineFrom(at: number, text: string): Span {
  const end = text.indexOf('\n', at);
  return { start: at, end: end === -1 ? text.length : end };
}

function spanOf(pos: [number, number], text: string): Span {
  const start = Math.min(pos[0], text.length);
  return { start, end: Math.max(start, Math.min(pos[1], text.length)) };
}

/** `yaml` appends " at line X, column Y" plus a code excerpt; the editor shows the place already. */
function humanizeYamlMessage(message: string): string {
  return message.replace(/ at line \d+, column \d+[\s\S]*$/, '').trim();
}

/** Thrown when aliases expand a value deeper than the limit; `span` is the outermost alias expanding. */
class TooDeepAt extends Error {
  constructor(public span: Span) {
    super('too deep');
  }
}

class JsonConverter {
  readonly builder = new LocatedBuilder();
  private expandedNodes = 0;
  private readonly inProgress = new Set<YamlNode>();
  private bombReported = false;

  constructor(
    private readonly document: Document,
    private readonly text: string,
  ) {}

  /** A node's span without the line breaks `yaml` counts into block collections. */
  span(node: YamlNode | null | undefined, fallback: number): Span {
    const range = node?.range;
    if (!range) return { start: fallback, end: fallback };
    let end = range[1];
    while (end > range[0] && /[ \t\r\n]/.test(this.text[end - 1])) end--;
    return { start: range[0], end };
  }

  /**
   * Where a node's content is. A block collection ends with its last entry: `yaml` counts some
   * comment lines after it into its range, some not (by their indentation), and a section's span
   * should not depend on that. The fast reader gives the same spans.
   */
  extent(node: YamlNode): Span {
    if ((isMap(node) || isSeq(node)) && !node.flow && node.items.length > 0 && node.range) {
      const start = node.range[0];
      let end = start;
      const last = node.items[node.items.length - 1];
      if (isMap(node)) {
        const pair = last as Pair;
        if (pair.key) end = Math.max(end, this.extent(pair.key as YamlNode).end);
        if (pair.value) end = Math.max(end, this.extent(pair.value as YamlNode).end);
      } else if (last) {
        end = Math.max(end, this.extent(last as YamlNode).end);
      }
      return { start, end };
    }
    return this.span(node, 0);
  }

  convert(node: YamlNode, insideAlias = false, depth = 0): JsonValue {
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
        return this.convert(target, true, depth);
      } catch (e) {
        // The text nests within the limit (the scanner saw to that): only aliases can go deeper.
        if (e instanceof TooDeepAt && !insideAlias) e.span = span;
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
      const span = this.extent(node);
      if (depth >= MAX_NESTING_DEPTH) throw new TooDeepAt(span);
      const object: { [key: string]: JsonValue } = {};
      for (const pair of node.items) {
        const keyNode = pair.key as YamlNode | null;
        const valueNode = pair.value as YamlNode | null;
        const keySpan = this.span(keyNode, span.start);
        const valueSpan = valueNode ? this.extent(valueNode) : { start: keySpan.end, end: keySpan.end };
        const value = valueNode ? this.convert(valueNode, insideAlias, depth + 1) : null;
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
      this.builder.endObject(object);
      return object;
    }
    if (isSeq(node)) {
      const span = this.extent(node);
      if (depth >= MAX_NESTING_DEPTH) throw new TooDeepAt(span);
      const array: JsonValue[] = [];
      for (const item of node.items) {
        const itemNode = item as YamlNode | null;
        const itemSpan = itemNode ? this.extent(itemNode) : { start: span.start, end: span.start };
        this.builder.addItem(array, itemNode ? this.convert(itemNode, insideAlias, depth + 1) : null, itemSpan.start, itemSpan.end);
      }
      return array;
    }
    return null;
  }
}

class AliasBomb extends Error {}
