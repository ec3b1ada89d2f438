import type { JsonValue } from './canonical';
import type { JsonPath, LocatedValue } from './documentModel';
import { problem, type Problem } from './problems';

/**
 * Cross-references inside a pools section: where each topic is routed against the pools defined
 * beside it. Replicas apply such a section all the same (its schema holds), so these are warnings
 * and notes, never errors: publishing is not refused, the person is told where jobs will go nowhere.
 */

type Obj = { [key: string]: JsonValue };
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Pool statuses current Cordum leaves out of routing. */
const NOT_ROUTED = new Set(['draining', 'inactive']);

/** The pool names a topic's value names, with their index in a list (undefined for the single-string form). */
export function routedPools(value: JsonValue): { name: string; index?: number }[] {
  if (typeof value === 'string') return [{ name: value }];
  if (Array.isArray(value)) return value.flatMap((v, index) => (typeof v === 'string' ? [{ name: v, index }] : []));
  return [];
}

/**
 * `section` is the normalised pools section (lower-case `topics` and `pools`); `sourcePath` maps a
 * path in it back to the document (a capitalised `Topics`), `sectionPath` is where it stands.
 */
export function poolCrossReferences(section: JsonValue, located: LocatedValue, sectionPath: JsonPath, sourcePath: (path: JsonPath) => JsonPath = (p) => p): Problem[] {
  if (!isObject(section) || !isObject(section.topics)) return [];
  // Without a `pools` mapping the section defines no pools to compare against (Cordum workers may
  // announce pools it does not list), and one of the wrong type is a schema error already.
  if (!isObject(section.pools)) return [];
  const pools: Obj = section.pools;
  const at = (path: JsonPath) => located.locate([...sectionPath, ...sourcePath(path)]);
  const problems: Problem[] = [];
  // Each pool's number, routability and use, looked up once per routed name. Why not a Set of used
  // names and `pools[name]`: at 8 MB (113,000 pools) those lookups into V8's hash tables missed the
  // cache several times per topic and the checks cost 16 ms per MB, against 6 at 256 KB; with one
  // Map lookup and two byte arrays they cost about a third of that at both sizes (side by side).
  const poolNames = located.memberNames(pools) ?? Object.keys(pools);
  const poolValues = located.memberValues(pools);
  const poolNumber = new Map<string, number>();
  const routablePool = new Uint8Array(poolNames.length);
  const usedPool = new Uint8Array(poolNames.length);
  for (let i = 0; i < poolNames.length; i++) {
    poolNumber.set(poolNames[i], i);
    const pool = poolValues ? poolValues[i] : pools[poolNames[i]];
    const status = isObject(pool) ? pool.status : undefined;
    if (!(typeof status === 'string' && NOT_ROUTED.has(status))) routablePool[i] = 1;
  }
  const topics = section.topics;
  // One pass, allocation-free (an 8 MB document routes 113,000 topics), values in order from the
  // parse where it kept them (memberValues); routedPools serves the rare messages below.
  const topicNames = located.memberNames(topics) ?? Object.keys(topics);
  const topicValues = located.memberValues(topics);
  for (let t = 0; t < topicNames.length; t++) {
    const topic = topicNames[t];
    const value = topicValues ? topicValues[t] : topics[topic];
    const single = typeof value === 'string';
    if (!single && !Array.isArray(value)) continue;
    const count = single ? 1 : (value as JsonValue[]).length;
    let routes = 0;
    let defined = 0;
    let routable = false;
    for (let index = 0; index < count; index++) {
      const name = single ? (value as string) : (value as JsonValue[])[index];
      if (typeof name !== 'string') continue;
      routes++;
      const number = poolNumber.get(name);
      if (number === undefined) {
        const where = at(single ? ['topics', topic] : ['topics', topic, index]);
        problems.push(
          problem(where.value, `Pool "${name}" is not defined in pools: jobs on "${topic}" routed to it find no worker pool.`, 'undefined-pool', 'warning', { pool: name, sectionPath }),
        );
        continue;
      }
      defined++;
      usedPool[number] = 1;
      if (routablePool[number]) routable = true;
    }
    if (routes > 0 && !routable && defined === routes) {
      const where = at(['topics', topic]);
      const statuses = routedPools(value).map((r) => `"${r.name}" is ${String((pools[r.name] as Obj).status)}`).join(', ');
      problems.push(
        problem(
          where.key ?? where.value,
          `Topic "${topic}" has nowhere to go: ${statuses}, and Cordum leaves draining and inactive pools out of routing.`,
          'topic-not-routable',
          'warning',
        ),
      );
    }
  }
  for (let i = 0; i < poolNames.length; i++) {
    if (usedPool[i]) continue;
    const name = poolNames[i];
    const where = at(['pools', name]);
    problems.push(problem(where.key ?? where.value, `No topic routes to pool "${name}".`, 'unused-pool', 'info', { pool: name }));
  }
  return problems;
}
