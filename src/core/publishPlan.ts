import { stringify } from 'yaml';
import { canonicalJson, compareCodePoints, type JsonValue } from './canonical';
import { computeSectionHash, HASH_GATED_SECTIONS, type SectionName } from './sectionHash';

/**
 * What a publish will do, computed before anything is written: per hash-gated section the live
 * and the new hash, which sections replicas will apply, and the revision the write creates.
 */

export type SectionChangeKind = 'unchanged' | 'changed' | 'added' | 'removed';

export interface SectionChange {
  name: SectionName;
  kind: SectionChangeKind;
  liveHash?: string;
  localHash?: string;
  /** Replicas apply a section when its new hash is non-empty and differs from the one they hold. */
  replicasApply: boolean;
}

export interface PublishPlan {
  key: string;
  /** The live revision the write is based on (0 when the document does not exist yet). */
  expectedRevision: number;
  newRevision: number;
  sections: SectionChange[];
  /** Other top-level data keys whose value changes (not hash-gated: served as they are). */
  otherChanges: string[];
  /** Nothing in data would change. */
  identical: boolean;
}

type DataMap = { [key: string]: JsonValue };

function sectionHashOf(data: DataMap | undefined, name: SectionName): string | undefined {
  if (!data || !Object.prototype.hasOwnProperty.call(data, name)) return undefined;
  return computeSectionHash(name, data[name]).hash;
}

export function planPublish(key: string, local: DataMap, live: { data: DataMap; revision: number } | undefined, sections: readonly SectionName[] = HASH_GATED_SECTIONS, expectedRevision?: number): PublishPlan {
  const base = expectedRevision ?? live?.revision ?? 0;
  const changes: SectionChange[] = [];
  for (const name of sections) {
    const liveHash = sectionHashOf(live?.data, name);
    const localHash = sectionHashOf(local, name);
    const hasLive = !!live && Object.prototype.hasOwnProperty.call(live.data, name);
    const hasLocal = Object.prototype.hasOwnProperty.call(local, name);
    if (!hasLive && !hasLocal) continue;
    const kind: SectionChangeKind = !hasLive ? 'added' : !hasLocal ? 'removed' : liveHash === localHash && canonicalJson(live!.data[name]) === canonicalJson(local[name]) ? 'unchanged' : 'changed';
    changes.push({ name, kind, liveHash, localHash, replicasApply: !!localHash && localHash !== liveHash });
  }
  const gated = new Set<string>(sections);
  const keys = new Set([...Object.keys(local), ...Object.keys(live?.data ?? {})]);
  const otherChanges = [...keys]
    .filter((k) => !gated.has(k))
    .filter((k) => canonicalJson(local[k] ?? null) !== canonicalJson(live?.data[k] ?? null) || Object.prototype.hasOwnProperty.call(local, k) !== Object.prototype.hasOwnProperty.call(live?.data ?? {}, k))
    .sort(compareCodePoints);
  const identical = !!live && canonicalJson(local) === canonicalJson(live.data);
  return { key, expectedRevision: base, newRevision: base + 1, sections: changes, otherChanges, identical };
}

/**
 * One line per section for a preview. Aligned columns for a terminal; for a dialog in a
 * proportional font, one "name: old → new, effect" sentence per section.
 */
export function describePlan(plan: PublishPlan, style: 'columns' | 'sentences' = 'columns'): string[] {
  const short = (h: string | undefined) => (h ? h.slice(0, 12) : '(none)');
  const lines = plan.sections.map((s) => {
    const what = s.kind === 'unchanged' ? 'unchanged' : `${short(s.liveHash)} -> ${short(s.localHash)}`;
    const effect = s.replicasApply ? 'replicas apply it' : s.kind === 'unchanged' ? 'replicas skip it (same hash)' : s.localHash ? 'replicas skip it' : 'no hash: replicas keep their last one';
    return style === 'columns' ? `${s.name.padEnd(9)} ${what.padEnd(28)} ${effect}` : `${s.name}: ${what.replace(' -> ', ' → ')}, ${effect}.`;
  });
  if (plan.otherChanges.length > 0) lines.push(`Other keys changed (served as they are): ${plan.otherChanges.join(', ')}`);
  return lines;
}

/** Sorts object keys deeply (code point order), so two renderings differ only where data does. */
export function sortKeysDeep(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value === null || typeof value !== 'object') return value;
  const out: DataMap = {};
  for (const k of Object.keys(value).sort(compareCodePoints)) Object.defineProperty(out, k, { value: sortKeysDeep(value[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

/**
 * A normalised YAML rendering of a data map for diffs: sorted keys, one style, so that
 * formatting alone (key order, quoting, comments, JSON vs YAML) shows no difference.
 */
export function renderForDiff(data: JsonValue): string {
  return stringify(sortKeysDeep(data), { indent: 2, lineWidth: 0, sortMapEntries: false, aliasDuplicateObjects: false });
}
