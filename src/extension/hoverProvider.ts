import * as vscode from 'vscode';
import type { JsonValue } from '../core/canonical';
import { displayText } from '../core/displayText';
import { isSectionName } from '../core/sectionHash';
import { describe, enumValues, schemaAt, typesOf } from '../core/schemaNavigator';
import type { DriftDocuments } from './driftDocuments';
import { definedPools, isTopicsKey, placeAt, sectionRelative, type EditorPlace } from './editorPlace';
import { markdownText } from './markdownText';
import type { ReplicaModel } from './replicaModel';
import { shortHash } from './sectionHashLens';

/**
 * Hover from our own schemas: what a key means; on a hash-gated section key, the hash replicas
 * compute from it, the live hash and how many replicas run it; on a pool a topic routes to, that
 * pool's definition; on a topic's route, that "p" and ["p"] route the same but hash differently.
 */
export class DriftHoverProvider implements vscode.HoverProvider {
  constructor(
    private readonly documents: DriftDocuments,
    private readonly replicas?: ReplicaModel,
  ) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const place = placeAt(this.documents, document, position);
    if (!place) return undefined;
    const { context } = place;
    if (!context.word.text) return undefined;
    const parts: string[] = [];
    const relative = sectionRelative(place);
    const onTopicRoute = relative !== undefined && context.position === 'value' && isTopicsKey(relative[0]) && relative.length >= 2;
    if (onTopicRoute) parts.push(...this.route(place, relative!));
    else if (relative && context.position === 'key' && relative.length === 2 && (relative[0] === 'pools' || relative[0] === 'Pools')) parts.push(this.poolUse(place, String(relative[1])));
    else {
      const section = this.sectionKey(place);
      if (section) parts.push(...this.sectionHash(place, document, section));
      const info = schemaAt(place.kind, context.path, place.envelope);
      if (info) {
        const text = describe(info);
        if (text) parts.push(text);
        const allowed = enumValues(info);
        if (allowed.length) parts.push(`One of: ${allowed.map((v) => `\`${String(v)}\``).join(', ')}`);
        else if (info.format) parts.push(info.format === 'duration' ? 'A Go duration: `30s`, `1m30s`, `250ms` (units ns, us, ms, s, m, h).' : 'A bound: `<=` or `<`, then a Go duration, such as `<= 5s`.');
        else {
          const types = [...new Set(info.nodes.flatMap(typesOf))];
          if (types.length && parts.length) parts.push(`*${types.map((t) => (t === 'object' ? 'mapping' : t === 'array' ? 'list' : t)).join(' or ')}*`);
        }
      }
    }
    if (parts.length === 0) return undefined;
    const markdown = new vscode.MarkdownString(parts.join('\n\n'));
    return new vscode.Hover(markdown, new vscode.Range(position.line, context.word.start, position.line, context.word.end));
  }

  /** `pools` / `timeouts` under the data map (or at the root of a bare one), or any top key of a section file. */
  private sectionKey(place: EditorPlace): string | undefined {
    const { context, kind } = place;
    if (context.position !== 'key') return undefined;
    if (kind === 'pools' || kind === 'timeouts') return context.parentPath.length === 0 ? kind : undefined;
    if (kind !== 'config') return undefined;
    const base = place.envelope ? ['data'] : [];
    const name = context.key;
    if (context.parentPath.length !== base.length || !base.every((b, i) => context.parentPath[i] === b) || !name) return undefined;
    return isSectionName(name) ? name : undefined;
  }

  private sectionHash(place: EditorPlace, document: vscode.TextDocument, name: string): string[] {
    const section = place.entry.analysis.sections.find((s) => s.name === name);
    const lines: string[] = [];
    const stale = place.entry.version !== document.version ? ' (as of the last analysis; the text changed since)' : '';
    if (!section) return [`**${name}**: no hash yet${stale}.`];
    if (!section.hash) lines.push(`**${name}**: no hash, replicas will not apply it. ${markdownText(section.reason ?? '')}`);
    else lines.push(`**${name}** section hash${stale}: \`${shortHash(section.hash)}\``);
    const model = this.replicas?.model;
    const live = model?.live?.sections[name];
    if (live) lines.push(`Live hash: \`${shortHash(displayText(live))}\`${section.hash ? (live === section.hash ? ' (the same)' : ' (differs: publishing changes it)') : ''}`);
    const reporting = (model?.replicas ?? []).filter((r) => r.state !== 'stale');
    if (reporting.length > 0) {
      const runs = (hash: string | undefined) => reporting.filter((r) => r.sections.some((s) => s.section === name && s.hash === hash)).length;
      const counts: string[] = [];
      if (section.hash) counts.push(`${runs(section.hash)}/${reporting.length} replicas run this hash`);
      if (live && live !== section.hash) counts.push(`${runs(live)}/${reporting.length} run the live hash`);
      lines.push(counts.join('; ') + '.');
    } else if (model) {
      lines.push('No replica reports this section.');
    }
    return [lines.join('  \n')];
  }

  /** On a pool's key in `pools`: which topics route to it (from the latest analysis). */
  private poolUse(place: EditorPlace, name: string): string {
    const data = place.entry.analysis.data;
    const section = place.kind === 'config' ? (data as Record<string, JsonValue> | undefined)?.[String(place.context.path[place.poolsSection!.length])] : data;
    const topics = typeof section === 'object' && section !== null && !Array.isArray(section) ? ((section as Record<string, JsonValue>).topics ?? (section as Record<string, JsonValue>).Topics) : undefined;
    if (typeof topics !== 'object' || topics === null || Array.isArray(topics)) return `**Pool ${code(name)}**`;
    const routing = Object.keys(topics).filter((t) => {
      const v = (topics as Record<string, JsonValue>)[t];
      return v === name || (Array.isArray(v) && v.includes(name));
    });
    const shown = routing.slice(0, 10).map((t) => code(t)).join(', ');
    return `**Pool ${code(name)}**: ${routing.length === 0 ? 'no topic routes to it.' : `${routing.length} topic${routing.length === 1 ? '' : 's'} route${routing.length === 1 ? 's' : ''} to it: ${shown}${routing.length > 10 ? ', …' : ''}`}`;
  }

  /** On a pool name in a topic's route: the pool as defined, and what the form of the route means. */
  private route(place: EditorPlace, relative: readonly (string | number)[]): string[] {
    const { context } = place;
    const name = context.word.text;
    const pools = definedPools(place);
    const parts: string[] = [];
    if (pools.has(name)) {
      const definition = pools.get(name);
      parts.push(`**Pool ${code(name)}**` + (definition === undefined ? ' (defined in `pools`)' : '') + poolDefinition(definition));
    } else if (pools.size > 0 || place.entry.analysis.data !== undefined) {
      parts.push(`**Pool ${code(name)} is not defined** in this section's \`pools\`: jobs routed only to it find no worker pool.`);
    }
    const inList = relative.length === 3 || context.list !== undefined;
    parts.push(
      inList
        ? 'Written as a list. A single pool written `"p"` routes the same as `["p"]`, but the two hash differently: changing the form changes the pools hash, and every replica re-applies routing.'
        : 'Written as a single pool. `["p"]` routes the same as `"p"`, but the two hash differently: changing the form changes the pools hash, and every replica re-applies routing.',
    );
    return parts;
  }
}

/** A name from the document as a code span (Markdown escapes do not work inside one). */
function code(text: string): string {
  return '`' + displayText(text).replace(/`/g, "'") + '`';
}

function poolDefinition(definition: JsonValue | undefined): string {
  if (typeof definition !== 'object' || definition === null || Array.isArray(definition)) return '';
  const d = definition as Record<string, JsonValue>;
  const lines: string[] = [];
  const status = typeof d.status === 'string' ? d.status : undefined;
  lines.push(`- status: ${code(status ?? 'active')}${status ? '' : ' (the default)'}${status === 'draining' || status === 'inactive' ? ': left out of routing' : ''}`);
  if (Array.isArray(d.requires)) lines.push(`- requires: ${d.requires.length ? d.requires.map((r) => code(String(r))).join(', ') : 'nothing'}`);
  if (typeof d.description === 'string') lines.push(`- description: ${markdownText(d.description)}`);
  return '\n\n' + lines.join('\n');
}
