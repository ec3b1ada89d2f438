import { canonicalJson, compareCodePoints, type JsonValue } from './canonical';
import { displayText } from './displayText';
import { routedPools } from './poolRefs';
import { computeSectionHash, HASH_GATED_SECTIONS, normaliseSection, type SectionName } from './sectionHash';

/**
 * What a publish changes, property by property, and what that does to the running system.
 *
 * Hash-gated sections are compared as replicas see them (normalised: capitalised fallbacks renamed,
 * ignored keys dropped), so formatting, key order and keys no replica reads never show. The rest of
 * `data` is served as it is and compared as it is. Risks follow from Cordum's rules (reference §2):
 * a topic whose pools are all draining, inactive or undefined has nowhere to go; an invalid section
 * is never applied.
 */

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: Obj, k: string) => Object.prototype.hasOwnProperty.call(o, k);

export type ChangeKind = 'added' | 'removed' | 'changed';

export interface Change {
  /** The top-level data key: `pools`, `timeouts`, or any other key (`scheduler`, ...). */
  section: string;
  /** From the data root: `pools.topics["job.default"]`, `timeouts.reconciler.scan_interval_seconds`. */
  path: string;
  kind: ChangeKind;
  from?: JsonValue;
  to?: JsonValue;
  /** Why this change matters less (or differently) than it looks: a hash-only change, an absent section. */
  note?: string;
  /** The hash changes but replicas route exactly as before (`"p"` vs `["p"]`, reordered pools). */
  hashOnly?: boolean;
}

/** In the order a person should read them: what stops jobs first. */
export const RISK_CODES = ['unapplied-section', 'topic-without-active-pool', 'pool-removed-still-routed', 'timeout-zero', 'timeout-cut', 'many-topics', 'scan-interval-change'] as const;
export type RiskCode = (typeof RISK_CODES)[number];

export function isRiskCode(code: string): code is RiskCode {
  return (RISK_CODES as readonly string[]).includes(code);
}

export interface Risk {
  code: RiskCode;
  path: string;
  /** One sentence. */
  message: string;
}

export interface ChangeSet {
  changes: Change[];
  risks: Risk[];
}

type DataMap = { [key: string]: JsonValue };

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `pools.topics["job.default"]`: dotted where a name is a plain word, quoted where it is not (topic names have dots). */
export function formatPath(segments: readonly (string | number)[]): string {
  return segments
    .map((s, i) => (typeof s === 'number' ? `[${s}]` : IDENT.test(s) ? `${i === 0 ? '' : '.'}${s}` : i === 0 ? JSON.stringify(s) : `[${JSON.stringify(s)}]`))
    .join('');
}

const same = (a: JsonValue | undefined, b: JsonValue | undefined) => (a === undefined || b === undefined ? a === b : canonicalJson(a) === canonicalJson(b));

/** Recursive diff of objects; anything else (arrays, scalars, a type change) is one change at its path. */
function diffValue(section: string, path: (string | number)[], from: JsonValue | undefined, to: JsonValue | undefined, out: Change[]): void {
  if (from === undefined && to === undefined) return;
  if (from === undefined) return void out.push({ section, path: formatPath(path), kind: 'added', to });
  if (to === undefined) return void out.push({ section, path: formatPath(path), kind: 'removed', from });
  if (isObject(from) && isObject(to)) {
    for (const k of unionKeys(from, to)) diffValue(section, [...path, k], has(from, k) ? from[k] : undefined, has(to, k) ? to[k] : undefined, out);
    return;
  }
  if (!same(from, to)) out.push({ section, path: formatPath(path), kind: 'changed', from, to });
}

function unionKeys(a: Obj, b: Obj): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(compareCodePoints);
}

/** The pool names a topic routes to, or undefined when its value is not a routing (a schema error). */
function poolNames(value: JsonValue | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' && !Array.isArray(value)) return undefined;
  return routedPools(value).map((p) => p.name);
}

/** The pools section's topics compared as routing: a representation change is noted as hash-only. */
function diffTopics(from: JsonValue | undefined, to: JsonValue | undefined, out: Change[]): Set<string> {
  const rerouted = new Set<string>();
  if (!isObject(from) || !isObject(to)) {
    diffValue('pools', ['pools', 'topics'], from, to, out);
    for (const side of [from, to]) if (isObject(side)) for (const t of Object.keys(side)) rerouted.add(t);
    return rerouted;
  }
  for (const topic of unionKeys(from, to)) {
    const a = has(from, topic) ? from[topic] : undefined;
    const b = has(to, topic) ? to[topic] : undefined;
    if (same(a, b)) continue;
    const path = formatPath(['pools', 'topics', topic]);
    if (a === undefined || b === undefined) {
      out.push(a === undefined ? { section: 'pools', path, kind: 'added', to: b } : { section: 'pools', path, kind: 'removed', from: a });
      rerouted.add(topic);
      continue;
    }
    const before = poolNames(a);
    const after = poolNames(b);
    const change: Change = { section: 'pools', path, kind: 'changed', from: a, to: b };
    if (before && after && before.length === after.length && before.every((p, i) => p === after[i])) {
      change.hashOnly = true;
      change.note = 'same pools, written another way ("p" vs ["p"]): the hash changes, routing does not';
    } else {
      // A new order is a routing change too (issue 13 lists it with pools added and removed): the
      // order is the topic's preference, the first active pool takes its jobs before the others.
      if (before && after && before.length === after.length && [...before].sort().join('\0') === [...after].sort().join('\0')) {
        change.note = 'same pools in another order: which pool takes the jobs first changes';
      }
      rerouted.add(topic);
    }
    out.push(change);
  }
  return rerouted;
}

function normalised(section: SectionName, data: DataMap | undefined): JsonValue | undefined {
  if (!data || !has(data, section)) return undefined;
  return normaliseSection(section, data[section]).value;
}

const NOT_ROUTED = new Set(['draining', 'inactive']);

/** Why a topic has nowhere to go in this pools section, or undefined when it has somewhere (or nothing can be said). */
function unroutable(section: JsonValue | undefined, topic: string): string | undefined {
  if (!isObject(section) || !isObject(section.topics) || !has(section.topics, topic)) return undefined;
  const names = poolNames(section.topics[topic]);
  if (!names || names.length === 0) return undefined;
  // Without a pools mapping the section defines nothing to check against (workers may announce pools).
  if (!isObject(section.pools)) return undefined;
  const pools: Obj = section.pools;
  const reasons: string[] = [];
  for (const name of names) {
    if (!has(pools, name)) {
      reasons.push(`"${displayText(name)}" is not defined`);
      continue;
    }
    const status = isObject(pools[name]) ? (pools[name] as Obj).status : undefined;
    if (typeof status === 'string' && NOT_ROUTED.has(status)) reasons.push(`"${displayText(name)}" is ${status}`);
    else return undefined;
  }
  return reasons.join(', ');
}

const seconds = (v: JsonValue | undefined) => (typeof v === 'number' ? `${v} s` : displayText(JSON.stringify(v) ?? 'nothing'));
const isTimeoutField = (path: string) => /(^|[._])timeout_seconds$/.test(path);

/**
 * The change set from `live` (undefined: the key does not exist) to `local`, over the hash-gated
 * `sections` (the drift policy's) and every other key of data.
 */
export function changeSet(live: DataMap | undefined, local: DataMap, sections: readonly SectionName[] = HASH_GATED_SECTIONS): ChangeSet {
  const changes: Change[] = [];
  const risks: Risk[] = [];
  const gated = new Set<string>(sections);
  let rerouted = new Set<string>();
  let topicCount = 0;

  for (const section of sections) {
    const from = normalised(section, live);
    const to = normalised(section, local);
    if (from === undefined && to === undefined) continue;
    if (from === undefined || to === undefined) {
      const change: Change = from === undefined ? { section, path: section, kind: 'added', to } : { section, path: section, kind: 'removed', from };
      if (to === undefined) change.note = `replicas keep the ${section} they last applied: a section that is absent is never applied`;
      changes.push(change);
    } else if (section === 'pools' && isObject(from) && isObject(to)) {
      rerouted = diffTopics(from.topics, to.topics, changes);
      for (const k of unionKeys(from, to)) if (k !== 'topics') diffValue(section, [section, k], has(from, k) ? from[k] : undefined, has(to, k) ? to[k] : undefined, changes);
    } else {
      diffValue(section, [section], from, to, changes);
    }
    if (section === 'pools') {
      const topicsOf = (v: JsonValue | undefined) => (isObject(v) && isObject(v.topics) ? Object.keys(v.topics) : []);
      topicCount = new Set([...topicsOf(from), ...topicsOf(to)]).size;
      if (from === undefined || to === undefined) rerouted = new Set();
      poolRisks(from, to, risks);
    }
    if (to !== undefined && has(local, section) && !computeSectionHash(section, local[section]).hash && (live === undefined || !has(live, section) || !same(live[section], local[section]))) {
      const first = computeSectionHash(section, local[section]).errors[0];
      const why = first ? `${first.instancePath || '(the section)'} ${first.message ?? 'is invalid'}` : 'it fails its schema';
      risks.push({ code: 'unapplied-section', path: section, message: `The new ${section} section fails validation (${displayText(why)}), so replicas will not apply it and keep the one they run.` });
    }
  }

  for (const key of unionKeys(live ?? {}, local)) {
    if (gated.has(key)) continue;
    diffValue(key, [key], live && has(live, key) ? live[key] : undefined, has(local, key) ? local[key] : undefined, changes);
  }

  for (const change of changes) {
    if (change.kind !== 'changed' || !gatedTimeout(change, gated)) continue;
    const from = change.from;
    const to = change.to;
    if (typeof from !== 'number' || typeof to !== 'number') continue;
    if (to === 0 && from !== 0) risks.push({ code: 'timeout-zero', path: change.path, message: `${change.path} goes from ${seconds(from)} to 0: a zero timeout is rarely what a person means.` });
    else if (to > 0 && to < from / 2) risks.push({ code: 'timeout-cut', path: change.path, message: `${change.path} is cut by more than half, from ${seconds(from)} to ${seconds(to)}: work that ran within the old timeout may now be cut off.` });
  }
  for (const change of changes) {
    if (change.kind === 'added' && gated.has(change.section)) {
      for (const path of zeroTimeouts(change.to, change.path)) risks.push({ code: 'timeout-zero', path, message: `${path} is set to 0: a zero timeout is rarely what a person means.` });
    }
  }
  // The value replicas scan by, before and after, however the change set words it (a whole
  // reconciler added or removed is one change at its parent's path). Set where it was absent, or
  // removed, the scheduler's default pace is a change of pace too; a timeouts section that is
  // itself absent on either side is not applied, so it changes no pace.
  if (gated.has('timeouts')) {
    const before = normalised('timeouts', live);
    const after = normalised('timeouts', local);
    const interval = (t: JsonValue | undefined) => (isObject(t) && isObject(t.reconciler) && has(t.reconciler, 'scan_interval_seconds') ? t.reconciler.scan_interval_seconds : undefined);
    const [from, to] = [interval(before), interval(after)];
    if (before !== undefined && after !== undefined && !same(from, to)) {
      const text = (v: JsonValue | undefined) => (v === undefined ? "the scheduler's default" : seconds(v));
      risks.push({ code: 'scan-interval-change', path: 'timeouts.reconciler.scan_interval_seconds', message: `The reconciler's scan interval changes from ${text(from)} to ${text(to)}: every replica scans for stale jobs at the new pace.` });
    }
  }
  // As issue 13 defines it: more than a quarter of the topics, however few (in a small table one
  // topic may be most of the traffic).
  if (rerouted.size * 4 > topicCount) {
    risks.push({ code: 'many-topics', path: 'pools.topics', message: `This change reroutes ${rerouted.size} of ${topicCount} topics, more than a quarter of them.` });
  }
  risks.sort((a, b) => RISK_CODES.indexOf(a.code) - RISK_CODES.indexOf(b.code) || compareCodePoints(a.path, b.path));
  return { changes, risks };
}

/** The timeout fields set to 0 inside an added value (a new topic or workflow), as paths. */
function zeroTimeouts(value: JsonValue | undefined, path: string): string[] {
  if (value === 0 && isTimeoutField(path)) return [path];
  if (!isObject(value)) return [];
  return Object.keys(value)
    .sort(compareCodePoints)
    .flatMap((k) => zeroTimeouts(value[k], `${path}${IDENT.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`}`));
}

function gatedTimeout(change: Change, gated: Set<string>): boolean {
  return gated.has(change.section) && isTimeoutField(change.path);
}

function poolRisks(from: JsonValue | undefined, to: JsonValue | undefined, risks: Risk[]): void {
  if (!isObject(to) || !isObject(to.topics)) return;
  const localTopics: Obj = to.topics;
  for (const topic of Object.keys(localTopics).sort(compareCodePoints)) {
    const now = unroutable(to, topic);
    if (now === undefined) continue;
    // Only what this change causes: a topic that already had nowhere to go is a warning in the editor.
    const before = from === undefined ? undefined : unroutable(from, topic);
    const existed = isObject(from) && isObject(from.topics) && has(from.topics, topic);
    if (existed && before !== undefined) continue;
    risks.push({ code: 'topic-without-active-pool', path: formatPath(['pools', 'topics', topic]), message: `Topic "${displayText(topic)}" has nowhere to go after this change: ${now}.` });
  }
  if (!isObject(from) || !isObject(from.pools)) return;
  const localPools = isObject(to.pools) ? to.pools : {};
  for (const pool of Object.keys(from.pools).sort(compareCodePoints)) {
    if (has(localPools, pool)) continue;
    const routing = Object.keys(localTopics).filter((t) => (poolNames(localTopics[t]) ?? []).includes(pool));
    if (routing.length === 0) continue;
    const names = routing.slice(0, 3).map((t) => `"${displayText(t)}"`).join(', ') + (routing.length > 3 ? ` and ${routing.length - 3} more` : '');
    risks.push({ code: 'pool-removed-still-routed', path: formatPath(['pools', 'pools', pool]), message: `Pool "${displayText(pool)}" is removed but ${routing.length === 1 ? 'topic' : 'topics'} ${names} still ${routing.length === 1 ? 'routes' : 'route'} to it.` });
  }
}

/** A value as one line: JSON, network text made visible (displayText), long values shortened. */
export function formatValue(value: JsonValue | undefined, max = 80): string {
  if (value === undefined) return '(absent)';
  const text = displayText(JSON.stringify(value));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** "3 changes (1 hash-only), 2 risks". */
export function changeSetSummary(set: ChangeSet): string {
  const hashOnly = set.changes.filter((c) => c.hashOnly).length;
  const n = set.changes.length;
  const r = set.risks.length;
  return `${n} change${n === 1 ? '' : 's'}${hashOnly ? ` (${hashOnly} hash-only)` : ''}, ${r} risk${r === 1 ? '' : 's'}`;
}

function changeLine(c: Change): string {
  const what = c.kind === 'added' ? `added ${formatValue(c.to)}` : c.kind === 'removed' ? `removed (was ${formatValue(c.from)})` : `${formatValue(c.from)} -> ${formatValue(c.to)}`;
  return `${displayText(c.path)}: ${what}${c.note ? ` (${c.note})` : ''}`;
}

/** For a terminal: risks first (they need accepting), then the changes, one per line. */
export function formatChangeSetText(set: ChangeSet): string[] {
  const lines: string[] = [];
  if (set.risks.length > 0) {
    lines.push(`risks (${set.risks.length}):`);
    // Each message names what it is about: the path would only repeat it.
    for (const r of set.risks) lines.push(`  ${r.code.padEnd(26)} ${r.message}`);
  }
  lines.push(set.changes.length === 0 ? 'no property changes (replicas see the same sections)' : `changes (${set.changes.length}):`);
  for (const c of set.changes) lines.push(`  ${c.kind === 'added' ? '+' : c.kind === 'removed' ? '-' : '~'} ${changeLine(c)}`);
  return lines;
}

function mdCode(text: string): string {
  const t = text.replace(/\|/g, '\\|');
  return t.includes('`') ? `\`\` ${t} \`\`` : `\`${t}\``;
}

/** For a pull-request comment (or the change set document in VS Code): a heading, the risks, a table of changes. */
export function formatChangeSetMarkdown(set: ChangeSet, title: string): string {
  const out: string[] = [`### ${title}`, '', `${changeSetSummary(set)}.`, ''];
  if (set.risks.length > 0) {
    out.push('#### Risks', '');
    for (const r of set.risks) out.push(`- ⚠️ **${r.code}**: ${r.message.replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'))}`);
    out.push('');
  }
  if (set.changes.length === 0) {
    out.push('No property changes: replicas see the same sections.');
  } else {
    out.push('#### Changes', '', '| | path | from | to | note |', '|---|---|---|---|---|');
    for (const c of set.changes) {
      const mark = c.kind === 'added' ? 'added' : c.kind === 'removed' ? 'removed' : 'changed';
      out.push(`| ${mark} | ${mdCode(displayText(c.path))} | ${c.from === undefined ? '' : mdCode(formatValue(c.from))} | ${c.to === undefined ? '' : mdCode(formatValue(c.to))} | ${c.note ?? ''} |`);
    }
  }
  return out.join('\n') + '\n';
}

/** The machine form (`driftlens diff --format json`): from/to only when present, hash_only and note only when set. */
export function changeSetJson(set: ChangeSet, extra: Record<string, JsonValue> = {}): object {
  return {
    ...extra,
    changes: set.changes.map((c) => ({
      section: c.section,
      path: c.path,
      kind: c.kind,
      ...(c.from === undefined ? {} : { from: c.from }),
      ...(c.to === undefined ? {} : { to: c.to }),
      ...(c.hashOnly ? { hash_only: true } : {}),
      ...(c.note ? { note: c.note } : {}),
    })),
    risks: set.risks.map((r) => ({ code: r.code, path: r.path, message: r.message })),
  };
}

/** The risk codes not in `accepted`, each once, in reading order. */
export function unacceptedRisks(set: ChangeSet, accepted: readonly string[]): RiskCode[] {
  return [...new Set(set.risks.map((r) => r.code))].filter((c) => !accepted.includes(c));
}
