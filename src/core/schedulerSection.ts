import type { JsonValue } from './canonical';
import type { JsonPath, LocatedValue } from './documentModel';
import { problem, type Problem, type Span } from './problems';

/**
 * Cordum's `scheduler` section (`input_fail_mode`, `output_fail_mode`, `output_policy_enabled`).
 * Unlike pools and timeouts it has no hash: every reload (each poll and each notification) re-reads
 * it and re-applies each key it can use, changed or not. The schema checks the values; what is
 * left here is what the schema cannot say as Cordum means it.
 */
export const SCHEDULER_SECTION = 'scheduler';

/** The keys a Cordum scheduler reads from `data.scheduler`; every other key is ignored. */
export const SCHEDULER_KEYS = ['input_fail_mode', 'output_fail_mode', 'output_policy_enabled'] as const;

/** The short and the long way of saying what happens to the section (lens title, tooltip, CLI). */
export const NOT_HASH_GATED = 're-applied on every reload';
export const NOT_HASH_GATED_WHY =
  'Cordum replicas do not hash-gate the scheduler section: every reload (each poll and each sys.config.changed ' +
  'notification) re-reads input_fail_mode, output_fail_mode and output_policy_enabled and applies them, changed or not. ' +
  'There is no hash to compare and no replica reports having applied it. A key left out is not reset: replicas keep ' +
  'the value they applied last until they restart.';

/** A section replicas apply without a hash gate, where it starts in the text. */
export interface UngatedSection {
  name: typeof SCHEDULER_SECTION;
  anchor: Span;
}

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The scheduler section of a config document's data, if there is one, and the warnings the schema cannot give. */
export function schedulerSection(data: JsonValue | undefined, base: JsonPath, located: LocatedValue): { section?: UngatedSection; problems: Problem[] } {
  if (!isObject(data) || !Object.prototype.hasOwnProperty.call(data, SCHEDULER_SECTION)) return { problems: [] };
  const path = [...base, SCHEDULER_SECTION];
  const where = located.locate(path);
  const section: UngatedSection = { name: SCHEDULER_SECTION, anchor: where.key ?? where.value };
  const value = data[SCHEDULER_SECTION];
  const problems: Problem[] = [];
  if (isObject(value)) {
    for (const key of Object.keys(value)) {
      if ((SCHEDULER_KEYS as readonly string[]).includes(key)) continue;
      const at = located.locate([...path, key]);
      problems.push(
        problem(
          at.key ?? at.value,
          `"${key}" is ignored by replicas: the scheduler section reads only ${SCHEDULER_KEYS.join(', ')} (exact, lowercase names).`,
          'ignored-by-replicas',
          'warning',
        ),
      );
    }
  }
  return { section, problems };
}
