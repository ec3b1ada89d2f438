import type { Command } from 'commander';
import { HASH_GATED_SECTIONS, isSectionName, type SectionName } from '../core/sectionHash';
import type { DocumentKind } from '../core/classify';
import { NOT_HASH_GATED, SCHEDULER_SECTION } from '../core/schedulerSection';
import { CliError, EXIT, formatProblems, loadDocument, parseKind } from './documentInput';

interface HashLine {
  section: SectionName;
  hash?: string;
  canonical?: string;
  reason?: string;
}

export function registerHashCommand(program: Command): void {
  program
    .command('hash')
    .description("Print each hash-gated section's SHA-256, exactly as Cordum replicas compute it.")
    .argument('<file>', 'a config document (Redis envelope or data map), or with --section a bare section file')
    .option('--section <name>', `only this section (${HASH_GATED_SECTIONS.join(' | ')}); the file may then be the bare section`)
    .option('--json', 'print JSON: {"sections": {"pools": {"hash": ...}}}')
    .option('--explain', 'print the canonical JSON bytes that are hashed (with --section: exactly those bytes, ready for sha256sum)')
    .addHelpText(
      'after',
      `
Prints one line per hash-gated section present: <section> <sha256>.
A section that fails its schema has no hash (replicas keep the last one they applied):
it is reported on stderr and the exit status is 1.
A scheduler section has no hash at all (replicas re-apply it on every reload): it is
noted on stderr as "<file>: scheduler: not hash-gated: ${NOT_HASH_GATED}" (in --json under "notHashGated").

Examples:
  driftlens hash cfg.system.default.yaml
  driftlens hash config/pools.yaml --section pools
  driftlens hash cfg.system.default.yaml --section pools --explain | sha256sum
`,
    )
    .option('--kind <kind>', 'read the file as config | pools | timeouts (default: by file name and content)', parseKind)
    .action(async (file: string, options: { section?: string; json?: boolean; explain?: boolean; kind?: DocumentKind }) => {
      if (options.section === SCHEDULER_SECTION) {
        throw new CliError(`the scheduler section is not hash-gated: replicas re-apply it on every reload, so it has no hash`);
      }
      if (options.section !== undefined && !isSectionName(options.section)) {
        throw new CliError(`--section must be one of ${HASH_GATED_SECTIONS.join(', ')}, not "${options.section}"`);
      }
      const only = options.section as SectionName | undefined;
      const { text, analysis } = await loadDocument(file, options.kind);
      if (only && analysis.kind !== 'config' && analysis.kind !== only) {
        throw new CliError(`${file}: is a ${analysis.kind} file, not a ${only} section (use --kind to say otherwise)`);
      }
      // Problems of the text itself (syntax, what JSON cannot hold): the data is not what replicas read.
      const syntax = analysis.parsed.problems.filter((p) => p.severity === 'error');
      if (syntax.length > 0 || analysis.parsed.located.value === undefined) {
        for (const line of formatProblems(file, text, syntax)) process.stderr.write(line + '\n');
        throw new CliError(`${file}: cannot compute hashes until the errors above are fixed (the data is not what replicas would read)`, EXIT.problems);
      }
      const results = collect(analysis, only);
      // Listed whenever all sections are asked for, so that nobody reads its absence as "no scheduler section".
      const ungated = only ? [] : analysis.ungated.map((s) => s.name);
      if (results.length === 0) {
        const scheduler = ungated.length > 0 ? ` (its ${ungated.join(', ')} section is not hash-gated: replicas re-apply it on every reload)` : '';
        throw new CliError(only ? `${file}: has no "${only}" section` : `${file}: has no hash-gated section (${HASH_GATED_SECTIONS.join(', ')})${scheduler}`);
      }
      for (const r of results) {
        if (!r.hash) process.stderr.write(`${file}: ${r.section}: no hash: ${r.reason}\n`);
      }
      // A note, not a hash line: stdout stays one "<section> <sha256>" line per hash.
      if (!options.json) for (const name of ungated) process.stderr.write(`${file}: ${name}: not hash-gated: ${NOT_HASH_GATED}\n`);
      if (options.json) {
        const sections: Record<string, object> = {};
        for (const r of results) sections[r.section] = r.hash ? { hash: r.hash, ...(options.explain ? { canonical: r.canonical } : {}) } : { hash: null, reason: r.reason };
        const notHashGated = Object.fromEntries(ungated.map((name) => [name, NOT_HASH_GATED]));
        process.stdout.write(JSON.stringify({ file, sections, ...(ungated.length ? { notHashGated } : {}) }, null, 2) + '\n');
      } else if (options.explain) {
        const valid = results.filter((r) => r.hash);
        if (only && valid.length === 1) {
          process.stdout.write(valid[0].canonical! + (process.stdout.isTTY ? '\n' : ''));
        } else {
          for (const r of valid) process.stdout.write(`# ${r.section} ${r.hash}\n${r.canonical}\n`);
        }
      } else {
        for (const r of results) if (r.hash) process.stdout.write(`${r.section} ${r.hash}\n`);
      }
      process.exitCode = results.every((r) => r.hash) ? 0 : 1;
    });
}

/** The sections to print, from the one analysis of the document. */
function collect(analysis: Awaited<ReturnType<typeof loadDocument>>['analysis'], only: SectionName | undefined): HashLine[] {
  return analysis.sections.filter((s) => !only || s.name === only).map((s) => ({ section: s.name, hash: s.hash, canonical: s.canonical, reason: s.reason }));
}
