import { readFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * A Cordum-shaped config document of about `bytes` characters, the shape bench/authoring.bench.ts
 * times: the real pools and timeouts fixtures plus one topic and one pool per team. The in-host
 * suite and the UI typing scenario open it to show that a large document does not block the editor.
 * `editedTopic` is a line in the middle, where the tests type.
 */
export function largeConfigDocument(bytes: number): { text: string; editedTopic: string } {
  const fixtures = path.join(__dirname, '..', '..', '..', 'test', 'fixtures', 'cordum');
  const pools = readFileSync(path.join(fixtures, 'pools.yaml'), 'utf8');
  const timeouts = readFileSync(path.join(fixtures, 'timeouts.yaml'), 'utf8');
  const [topicsPart, poolsPart] = pools.split(/^pools:\n/m);
  if (!topicsPart.startsWith('topics:\n') || poolsPart === undefined) throw new Error('unexpected pools.yaml layout');
  const indent = (s: string) => s.replace(/^(?=.)/gm, '  ');
  const head = `pools:\n  topics:\n${indent(topicsPart.slice('topics:\n'.length))}`;
  const middle = `  pools:\n${indent(poolsPart).replace(/\n*$/, '\n')}`;
  const tail = `timeouts:\n${indent(timeouts).replace(/\n*$/, '\n')}`;
  const topicLines: string[] = [];
  const poolLines: string[] = [];
  let size = head.length + middle.length + tail.length;
  for (let n = 0; size < bytes; n++) {
    const topic = `    job.team-${n}.process: pool-${n}\n`;
    const pool = `    pool-${n}:\n      requires: []\n`;
    topicLines.push(topic);
    poolLines.push(pool);
    size += topic.length + pool.length;
  }
  const mid = topicLines.length >> 1;
  return { text: head.replace(/\n*$/, '\n') + topicLines.join('') + middle + poolLines.join('') + tail, editedTopic: topicLines[mid].trimEnd() };
}
