import { STATE_LABELS, type DriftModel, type DriftState, type ReplicaView, type SectionView } from '../core/convergence';
import { displayText } from '../core/displayText';
import { formatAge, formatDuration } from '../core/duration';

/**
 * The drift model as a terminal table: what `driftlens status` and the simulator print. Every
 * string that came from Redis or NATS goes through displayText: a replica id or an error message
 * must not be able to drive the terminal.
 */

const COLOR: Record<DriftState, string> = {
  'in-sync': '32', // green
  converging: '33', // yellow
  drifted: '31', // red
  rejected: '31',
  'unknown-origin': '35', // magenta
  stale: '90', // grey
  'not-checked': '90',
  'not-reporting': '34', // blue: no evidence either way
};

function paint(text: string, state: DriftState, color: boolean): string {
  return color ? `\x1b[${COLOR[state]}m${text}\x1b[0m` : text;
}

function pad(text: string, width: number): string {
  // eslint-disable-next-line no-control-regex
  const visible = text.replace(/\x1b\[[0-9;]*m/g, '').length;
  return visible >= width ? text : text + ' '.repeat(width - visible);
}

function sectionCell(s: SectionView | undefined): string {
  if (!s) return '-';
  const hash = s.hash ? s.hash.slice(0, 8) : '--------';
  if (s.state === 'in-sync' && s.convergenceMs !== undefined) {
    const mark = s.withinBudget === false ? '✗' : '✓';
    return `${hash} ${mark} ${formatDuration(s.convergenceMs)} ${s.trigger === 'poll' ? 'poll' : s.trigger === 'notification' ? 'notif' : 'start'}`;
  }
  return `${hash} ${STATE_LABELS[s.state]}`;
}

/** What the instance registry says of a replica: its version and commit, or why it is not there. */
export function registryCell(r: ReplicaView): string {
  if (r.registry) {
    const text = [r.registry.version ?? 'no version', r.registry.commit?.slice(0, 12) ?? 'no commit'].join(' ');
    return displayText(text) + (r.registry.problem ? ' (odd value)' : '');
  }
  if (r.reportingOnly) return 'reporting only';
  if (r.leftRegistryMs !== undefined) return 'left the registry';
  return '-';
}

export function renderDriftTable(model: DriftModel, options: { color: boolean; nowMs: number; maxRows?: number }): string {
  const { color, nowMs } = options;
  const lines: string[] = [];
  const live = model.live;
  if (live) {
    const hashes = Object.entries(live.sections)
      .map(([name, hash]) => `${name} ${hash ? hash.slice(0, 12) : '(invalid)'}`)
      .join('  ');
    lines.push(`${displayText(live.key)}  revision ${live.revision}  published ${formatAge(nowMs - live.publishedAtMs)}${live.publishedBy ? ` by ${displayText(live.publishedBy)}` : ''}  ${hashes}`);
  } else {
    lines.push('no live document');
  }
  lines.push(`${model.summary}${model.breaches ? `  ·  ${model.breaches} over budget` : ''}${model.simulated ? `  ·  ${model.simulated} simulated (not real services)` : ''}`);
  lines.push('');
  const sections = live ? Object.keys(live.sections) : [];
  const registry = model.registry !== undefined;
  lines.push([pad('REPLICA', 28), pad('STATE', 15), ...sections.map((s) => pad(s.toUpperCase(), 26)), pad('REPORT', 9), ...(registry ? [pad('REGISTRY', 30)] : []), 'LAST ERROR'].join(' '));
  const rows = options.maxRows === undefined ? model.replicas : model.replicas.slice(0, options.maxRows);
  for (const r of rows) {
    const cells = sections.map((name) => {
      const s = r.sections.find((x) => x.section === name);
      return pad(s ? paint(sectionCell(s), s.state, color) : '-', 26);
    });
    const age = r.lastReportMs === undefined ? 'never' : formatAge(nowMs - r.lastReportMs);
    // Cut before escaping, so that a cut never leaves half an escape behind.
    const error = r.lastError ? displayText(`${r.lastError.kind}: ${r.lastError.message}`.slice(0, 60)) : '';
    lines.push([pad(displayText(r.member) + (r.simulated ? ' (simulated)' : ''), 28), pad(paint(STATE_LABELS[r.state], r.state, color), 15), ...cells, pad(age, 9), ...(registry ? [pad(registryCell(r), 30)] : []), error].join(' '));
  }
  if (rows.length < model.replicas.length) lines.push(`… and ${model.replicas.length - rows.length} more (problems are listed first)`);
  return lines.join('\n') + '\n';
}
