import { Counter, Gauge, type Registry } from 'prom-client';
import type { SectionName } from '../core/sectionHash';
import type { CheckTrigger } from '../live/replicaReports';

/**
 * What a replica applied, as Prometheus series, so drift is visible in Prometheus/Grafana without
 * VS Code: `count by (hash) (driftlens_config_section_info{section="pools"})` is 1 when the fleet agrees.
 *
 * The metrics go into the registry the service passes (its own /metrics), and are got-or-created
 * by name: many agents in one process (the simulator, a service with several config keys) share
 * one registry, and a second `new Gauge` of the same name would throw.
 */

export interface AgentMetricsOptions {
  /** The service's prom-client Registry. */
  registry: Registry;
}

const INFO = 'driftlens_config_section_info';
const APPLIES = 'driftlens_config_applies_total';
type InfoLabel = 'service' | 'replica' | 'section' | 'hash' | 'revision';
type AppliesLabel = 'service' | 'replica' | 'section' | 'trigger';

export class AgentMetrics {
  private readonly info: Gauge<InfoLabel>;
  private readonly applies: Counter<AppliesLabel>;
  /** The info series of each section now exported, so a new hash replaces the old series. */
  private readonly current = new Map<SectionName, Record<InfoLabel, string>>();

  constructor(
    options: AgentMetricsOptions,
    private readonly service: string,
    private readonly replica: string,
  ) {
    const { registry } = options;
    this.info =
      (registry.getSingleMetric(INFO) as Gauge<InfoLabel> | undefined) ??
      new Gauge({ name: INFO, help: 'The config section hash (and the revision it came from) this replica applied; 1 per applied section.', labelNames: ['service', 'replica', 'section', 'hash', 'revision'], registers: [registry] });
    this.applies =
      (registry.getSingleMetric(APPLIES) as Counter<AppliesLabel> | undefined) ??
      new Counter({ name: APPLIES, help: 'Config sections applied by this replica, by what triggered the check (startup, notification, poll).', labelNames: ['service', 'replica', 'section', 'trigger'], registers: [registry] });
  }

  applied(section: SectionName, hash: string, revision: number, trigger: CheckTrigger): void {
    const labels = { service: this.service, replica: this.replica, section, hash, revision: String(revision) };
    const previous = this.current.get(section);
    // One series per applied section: the old hash's series goes, or Prometheus would count a replica twice.
    if (previous) this.info.remove(previous);
    this.info.set(labels, 1);
    this.current.set(section, labels);
    this.applies.inc({ service: this.service, replica: this.replica, section, trigger });
  }

  /** A stopped replica applies nothing: its info series go (its counters stay, as counters do). */
  clear(): void {
    for (const labels of this.current.values()) this.info.remove(labels);
    this.current.clear();
  }
}
