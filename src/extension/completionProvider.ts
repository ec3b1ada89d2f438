import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { parseBound, parseGoDuration } from '../core/duration';
import { defaultsAndExamples, describe, enumValues, propertiesOf, schemaAt, typesOf, type SchemaNode } from '../core/schemaNavigator';
import type { DriftDocuments } from './driftDocuments';
import { definedPools, isTopicsKey, placeAt, sectionRelative, type EditorPlace } from './editorPlace';

/**
 * Completion from our own schemas (no other extension needed): the keys a mapping still lacks,
 * enum values, booleans, Go durations, and for a topic the pools its section defines. Works from
 * the text around the cursor, so it answers while the document does not parse.
 */

const COMMON_DURATIONS = ['10s', '30s', '1m', '5m', '15m', '1h', '250ms'];
const COMMON_BOUNDS = ['<= 5s', '<= 30s', '<= 1m'];

function documentation(node: SchemaNode): vscode.MarkdownString | undefined {
  const text = node.markdownDescription ?? node.description;
  return text ? new vscode.MarkdownString(text) : undefined;
}

function typeLabel(node: SchemaNode): string {
  const types = typesOf(node);
  if (node.enum) return node.enum.map((v) => String(v)).join(' | ');
  return types.map((t) => (t === 'object' ? 'mapping' : t === 'array' ? 'list' : t)).join(' | ');
}

/** What typing the key inserts: `key: ` and, where the schema knows the value's shape, its start. */
function keySnippet(name: string, node: SchemaNode, flow: boolean): vscode.SnippetString {
  const snippet = new vscode.SnippetString();
  const key = /^[A-Za-z0-9_][A-Za-z0-9_.\-/]*$/.test(name) ? name : JSON.stringify(name);
  snippet.appendText(`${key}: `);
  const types = typesOf(node);
  if (node.enum?.length) snippet.appendChoice(node.enum.map((v) => String(v)));
  else if (types.length === 1 && types[0] === 'boolean') snippet.appendChoice(['true', 'false']);
  else if (types.length === 1 && types[0] === 'object') {
    if (flow) {
      snippet.appendText('{');
      snippet.appendTabstop(0);
      snippet.appendText('}');
    } else {
      // The editor keeps the line's indentation on the new line; one level more for the entries.
      return new vscode.SnippetString(`${key}:\n\t$0`);
    }
  } else if (types.length === 1 && types[0] === 'array') {
    snippet.appendText('[');
    snippet.appendTabstop(0);
    snippet.appendText(']');
  } else if (node.default !== undefined && typeof node.default !== 'object') snippet.appendPlaceholder(String(node.default));
  else snippet.appendTabstop(0);
  return snippet;
}

function describePool(definition: JsonValue | undefined): string | undefined {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) return undefined;
  const parts: string[] = [];
  const d = definition as Record<string, JsonValue>;
  parts.push(typeof d.status === 'string' ? d.status : 'active');
  if (Array.isArray(d.requires)) parts.push(d.requires.length ? `requires ${d.requires.join(', ')}` : 'requires nothing');
  return parts.join(' · ');
}

export class DriftCompletionProvider implements vscode.CompletionItemProvider {
  constructor(private readonly documents: DriftDocuments) {}

  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionItem[] | undefined {
    const place = placeAt(this.documents, document, position);
    if (!place) return undefined;
    const { context } = place;
    const range = new vscode.Range(position.line, context.word.start, position.line, Math.max(context.word.end, position.character));
    if (context.position === 'key') return this.keys(place, range);
    return this.values(place, range);
  }

  private keys(place: EditorPlace, range: vscode.Range): vscode.CompletionItem[] | undefined {
    const { context } = place;
    const info = schemaAt(place.kind, context.parentPath, place.envelope);
    if (!info) return undefined;
    const properties = propertiesOf(info);
    if (properties.length === 0) return undefined;
    const present = new Set(context.presentKeys());
    return properties
      .filter((p) => !present.has(p.name))
      .map((p, i) => {
        const item = new vscode.CompletionItem(p.name, vscode.CompletionItemKind.Property);
        item.detail = `${typeLabel(p.node)}${p.required ? ' · required' : ''}`;
        item.documentation = documentation(p.node);
        item.insertText = keySnippet(p.name, p.node, context.flow);
        item.range = range;
        // Required keys first, then schema order.
        item.sortText = `${p.required ? 0 : 1}${String(i).padStart(3, '0')}`;
        return item;
      });
  }

  private values(place: EditorPlace, range: vscode.Range): vscode.CompletionItem[] | undefined {
    const { context } = place;
    const items: vscode.CompletionItem[] = [];
    const prefix = context.needsSpace ? ' ' : '';
    const add = (label: string, kind: vscode.CompletionItemKind, detail?: string, docs?: string | vscode.MarkdownString) => {
      const item = new vscode.CompletionItem(label, kind);
      item.insertText = prefix + label;
      item.range = range;
      item.detail = detail;
      item.documentation = docs;
      item.sortText = String(items.length).padStart(4, '0');
      items.push(item);
    };
    // A topic's route: the pools this section defines (not those already in its list).
    const relative = sectionRelative(place);
    if (relative && isTopicsKey(relative[0]) && relative.length >= 2 && relative.length <= 3) {
      const listed = new Set(context.list?.items ?? []);
      for (const [name, definition] of definedPools(place)) {
        if (!listed.has(name)) add(name, vscode.CompletionItemKind.Value, describePool(definition) ?? 'pool', 'A pool defined in this section\'s `pools`.');
      }
      return items;
    }
    const info = schemaAt(place.kind, context.path, place.envelope);
    if (!info) return undefined;
    for (const value of enumValues(info)) add(String(value), vscode.CompletionItemKind.EnumMember, undefined, documentation(info.nodes[0]));
    const types = new Set(info.nodes.flatMap(typesOf));
    if (types.has('boolean') && items.length === 0) for (const b of ['true', 'false']) add(b, vscode.CompletionItemKind.Value);
    if (info.format === 'duration') {
      const typed = context.word.text;
      // "45" becomes 45s, 45m...: the units Go accepts, offered for the number being typed.
      const candidates = /^\d+(\.\d+)?$/.test(typed) ? ['s', 'm', 'ms', 'h'].map((u) => typed + u) : [...defaultsAndExamples(info).map(String), ...COMMON_DURATIONS];
      for (const d of new Set(candidates)) if (parseGoDuration(d) !== undefined) add(d, vscode.CompletionItemKind.Value, `Go duration (${describe(info) ? 'see description' : 'time'})`, documentation(info.nodes[0]));
    } else if (info.format === 'bound') {
      for (const b of new Set([...defaultsAndExamples(info).map(String), ...COMMON_BOUNDS])) if (parseBound(b)) add(JSON.stringify(b), vscode.CompletionItemKind.Value, 'bound: <= or <, then a Go duration');
    } else if (items.length === 0) {
      for (const example of defaultsAndExamples(info)) if (typeof example === 'string' || typeof example === 'number') add(String(example), vscode.CompletionItemKind.Value, 'example', documentation(info.nodes[0]));
    }
    return items.length ? items : undefined;
  }
}

export const COMPLETION_TRIGGERS = [':', '[', ','];
