import { SEVERITY, STATE_LABELS, type DriftModel, type DriftState, type ReplicaView } from './convergence';

/**
 * How the Replicas view lays out a fleet, and what changed between two models, without `vscode`:
 * the tree provider renders this and fires `onDidChangeTreeData` only for the keys `update`
 * returns. At 1,000 replicas reporting every second, refreshing the whole tree per model would
 * make VS Code fetch and re-render every row; most models change a handful of replicas.
 *
 * Layout: services; under a service its replicas worst state first (the model's order), grouped
 * by state once the service has more than GROUP_ABOVE replicas, so that the 3 drifted of 1,000
 * sit in their own group at the top and the in-sync group can stay collapsed.
 */

/** `problems`: every state but in sync; a state: that state only; undefined: everything. */
export type ReplicaFilter = 'problems' | DriftState | undefined;

export const GROUP_ABOVE = 20;

/** How old a problem row's "40s ago" may get before its row is redrawn. */
export const AGE_STEP_MS = 5000;

export function matchesFilter(replica: ReplicaView, filter: ReplicaFilter): boolean {
  return filter === undefined || (filter === 'problems' ? replica.state !== 'in-sync' : replica.state === filter);
}

/** "3 drifted · 1 stale · 996 in sync": every state present, worst first, for the view header. */
export function stateCounts(model: DriftModel): string {
  const parts = SEVERITY.filter((s) => model.counts[s] > 0).map((s) => `${model.counts[s]} ${STATE_LABELS[s]}`);
  return parts.length ? parts.join(' · ') : 'no replicas';
}

export function filterLabel(filter: ReplicaFilter): string {
  return filter === undefined ? 'all' : filter === 'problems' ? 'problems' : STATE_LABELS[filter];
}

export interface ServiceLayout {
  service: string;
  /** The replicas shown (after the filter), worst first. */
  replicas: ReplicaView[];
  /** All replicas of the service (for its "997/1000 in sync"), whatever the filter. */
  all: ReplicaView[];
  /** Present when the service is grouped by state: states in severity order, each with its replicas. */
  groups?: { state: DriftState; replicas: ReplicaView[] }[];
}

/** Keys of what changed since the previous update; `whole` means refresh everything. */
export interface LayoutChange {
  whole: boolean;
  services: string[];
  /** `${service}\u0000${state}` */
  groups: string[];
  /** members */
  replicas: string[];
}

export const groupKey = (service: string, state: DriftState) => `${service}\u0000${state}`;

/**
 * What a replica row shows, as the values it is made of; a change here redraws the row (a problem
 * row also ages in AGE_STEP_MS steps). The sections are compared by identity first: the model hands
 * over the same section views while a replica's report says the same (see computeDriftModel), so
 * most rows of most models are compared without building their signature.
 */
interface RowInputs {
  state: DriftState;
  simulated: boolean;
  revision: number | null | undefined;
  age: number | '';
  registered: string;
  lastErrorAtMs: number | undefined;
  sections: ReplicaView['sections'];
  signature: string;
}

function rowInputs(r: ReplicaView, nowMs: number): Omit<RowInputs, 'signature'> {
  return {
    state: r.state,
    simulated: r.simulated === true,
    revision: r.revision,
    age: r.state !== 'in-sync' && r.lastReportMs !== undefined ? Math.floor((nowMs - r.lastReportMs) / AGE_STEP_MS) : '',
    // The registry's version and commit, or "reporting only", are in the row's description too.
    registered: r.registry ? `${r.registry.version ?? ''}@${r.registry.commit ?? ''}` : r.reportingOnly ? 'reporting-only' : '',
    lastErrorAtMs: r.lastError?.atMs,
    sections: r.sections,
  };
}

function sameInputs(a: Omit<RowInputs, 'signature'>, b: RowInputs): boolean {
  return a.sections === b.sections && a.state === b.state && a.simulated === b.simulated && a.revision === b.revision && a.age === b.age && a.registered === b.registered && a.lastErrorAtMs === b.lastErrorAtMs;
}

function rowSignature(i: Omit<RowInputs, 'signature'>): string {
  return `${i.state}|${i.simulated ? 1 : 0}|${i.revision ?? ''}|${i.age}|${i.registered}|${i.lastErrorAtMs ?? ''}|${i.sections.map((s) => `${s.section}:${s.state}:${s.hash ?? ''}:${s.appliedAtMs ?? ''}:${s.withinBudget ?? ''}`).join(',')}`;
}

export class FleetLayout {
  services: ServiceLayout[] = [];
  private filterValue: ReplicaFilter;
  private rootSignature = '';
  private readonly serviceSignatures = new Map<string, string>();
  /** Each group's members in order: compared one by one (a joined string of 1,000 ids per model was most of the layout's garbage). */
  private readonly groupMembers = new Map<string, string[]>();
  private readonly replicaRows = new Map<string, RowInputs>();

  get filter(): ReplicaFilter {
    return this.filterValue;
  }

  /** Lays out `model` (with a new filter when given); `root` is whatever else the top rows show (revision, verification): a change there refreshes all. */
  update(model: DriftModel | undefined, root: string, nowMs: number, filter: { filter: ReplicaFilter } = { filter: this.filterValue }): LayoutChange {
    return this.layOut(model, root, nowMs, filter.filter);
  }

  private layOut(model: DriftModel | undefined, root: string, nowMs: number, filter: ReplicaFilter): LayoutChange {
    const filterChanged = filter !== this.filterValue;
    this.filterValue = filter;
    const byService = new Map<string, ReplicaView[]>();
    for (const r of model?.replicas ?? []) {
      const list = byService.get(r.service);
      if (list) list.push(r);
      else byService.set(r.service, [r]);
    }
    const services: ServiceLayout[] = [];
    for (const [service, all] of byService) {
      const replicas = all.filter((r) => matchesFilter(r, filter));
      if (replicas.length === 0 && filter !== undefined) continue;
      const layout: ServiceLayout = { service, replicas, all };
      if (all.length > GROUP_ABOVE) {
        const groups = new Map<DriftState, ReplicaView[]>();
        for (const r of replicas) {
          const list = groups.get(r.state);
          if (list) list.push(r);
          else groups.set(r.state, [r]);
        }
        layout.groups = SEVERITY.filter((s) => groups.has(s)).map((state) => ({ state, replicas: groups.get(state)! }));
      }
      services.push(layout);
    }
    this.services = services;

    const rootSignature = `${root}|${services.map((s) => s.service).join(',')}`;
    const change: LayoutChange = { whole: filterChanged || rootSignature !== this.rootSignature, services: [], groups: [], replicas: [] };
    this.rootSignature = rootSignature;
    const seenServices = new Set<string>();
    const seenGroups = new Set<string>();
    const seenReplicas = new Set<string>();
    for (const s of services) {
      seenServices.add(s.service);
      const inSync = s.all.filter((r) => r.state === 'in-sync').length;
      const simulated = s.all.filter((r) => r.simulated).length;
      // The service row's description and its children: grouped, the size of the service and the
      // states present (each group row counts its own replicas, so a replica changing state redraws
      // two group rows, not the service with all its open groups); else the in-sync count and the
      // replicas in order.
      const serviceSignature = s.groups ? `${s.all.length}/${simulated}|${s.groups.map((g) => g.state).join(',')}` : `${inSync}/${s.all.length}/${simulated}|${s.replicas.map((r) => r.member).join(',')}`;
      const serviceChanged = this.serviceSignatures.get(s.service) !== serviceSignature;
      this.serviceSignatures.set(s.service, serviceSignature);
      if (serviceChanged && !change.whole) change.services.push(s.service);
      for (const g of s.groups ?? []) {
        const key = groupKey(s.service, g.state);
        seenGroups.add(key);
        const before = this.groupMembers.get(key);
        const groupChanged = !before || before.length !== g.replicas.length || g.replicas.some((r, i) => r.member !== before[i]);
        if (groupChanged) this.groupMembers.set(key, g.replicas.map((r) => r.member));
        if (groupChanged && !change.whole && !serviceChanged) change.groups.push(key);
      }
      const changedGroups = new Set(change.groups);
      for (const r of s.replicas) {
        seenReplicas.add(r.member);
        const inputs = rowInputs(r, nowMs);
        const held = this.replicaRows.get(r.member);
        let replicaChanged = false;
        if (!held || !sameInputs(inputs, held)) {
          const signature = rowSignature(inputs);
          replicaChanged = held?.signature !== signature;
          this.replicaRows.set(r.member, { ...inputs, signature });
        }
        // A replica under a refreshed parent is redrawn with it.
        if (replicaChanged && !change.whole && !serviceChanged && !changedGroups.has(groupKey(s.service, r.state))) change.replicas.push(r.member);
      }
    }
    for (const [map, seen] of [[this.serviceSignatures, seenServices], [this.groupMembers, seenGroups], [this.replicaRows, seenReplicas]] as const) {
      for (const key of map.keys()) if (!seen.has(key)) map.delete(key);
    }
    return change;
  }
}
