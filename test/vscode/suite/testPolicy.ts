/**
 * A drift policy for the in-host suites that watch replicas: short budgets so that "converging" and
 * "drifted" arrive within a test (replicas poll every second, a lost notification is late after 2 s).
 * Each suite has a config key of its own, so none sees another's replicas.
 */
export function testPolicy(key: string, options: { sections?: readonly string[]; notificationOk?: string; verify?: string } = {}): string {
  return `drift_control:
  source_of_truth: redis
  config_key: ${key}
  notifications:
    subject: sys.config.changed
    mode: broadcast
  polling:
    interval: 1s
  hash_gate:
    sections: [${(options.sections ?? ['pools', 'timeouts']).join(', ')}]
  convergence_slo:
    notification_ok: "<= ${options.notificationOk ?? '500ms'}"
    notification_lost: "<= 2s"
${options.verify ?? ''}`;
}
