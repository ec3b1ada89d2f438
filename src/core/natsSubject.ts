/**
 * The NATS subject a change notification is published on. NATS reads a subject from a protocol line,
 * so a space splits it (`PUB a b 12` publishes to `a` with reply subject `b`), an empty token is
 * refused by the server, and `*` / `>` are wildcards a subscriber may use but a publisher may not.
 * The drift policy schema (schemas/drift-policy.schema.json, notifications.subject) states the same
 * rule as a pattern; test/unit/publishRules.test.ts keeps the two in agreement.
 */

/** Why `subject` cannot be published on, or undefined when it can. */
export function subjectProblem(subject: string): string | undefined {
  const shown = JSON.stringify(subject);
  if (subject === '') return 'a NATS subject cannot be empty';
  // eslint-disable-next-line no-control-regex
  if (/[\s\u0000-\u001f\u007f]/u.test(subject)) return `${shown} is not a NATS subject: it contains whitespace or a control character (NATS would split it, or refuse it)`;
  if (subject.split('.').some((token) => token === '')) return `${shown} is not a NATS subject: it has an empty token (a leading, trailing or doubled ".")`;
  if (/[*>]/.test(subject)) return `${shown} cannot be published on: "*" and ">" are NATS wildcards, for subscribers only`;
  return undefined;
}
